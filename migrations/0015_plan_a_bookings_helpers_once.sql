-- Two helpers of a booking were planned again on every call, where every other
-- statement of `book` keeps the plan it made on its sixth (pg_stat_statements with
-- track_planning: plans = calls for these two, 6 for the rest):
--
-- * schedule_lock_key, declared IMMUTABLE while its body turned a date into text, which
--   depends on DateStyle (STABLE): such a function is not inlined into its caller, so
--   each of booking_day_open's two calls ran it as a query of its own, planned each time.
--   The date is now spelled out from its parts, immutable and the same text DateStyle
--   ISO gives (checked for every day of 2000-2099): the same keys as before, so a
--   booking that holds a day's lock while this migration commits still meets a time off
--   or a closure taking it under the new definition. Inlined, it is planned with
--   booking_day_open's statement, once.
-- * tell_staff's insert, for which the planner prefers a custom plan (an empty ADMIN_IDS
--   array costs less when it is known), 0.14 ms of planning a booking. The staff table
--   is a handful of rows read whole either way: the function keeps its generic plan.
--
-- 4,000 bookings in a row on one connection (the backend's CPU time from /proc): a booking
-- went from 0.85-1.0 ms of it to 0.64-0.69 ms (the reference transaction of bench.booking:
-- 0.61-0.72 ms).

CREATE OR REPLACE FUNCTION schedule_lock_key(doctor_id integer, day date) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended('schedule:' || coalesce(doctor_id::text, 'clinic') || ':'
                            || lpad(extract(year FROM day)::int::text, 4, '0') || '-'
                            || lpad(extract(month FROM day)::int::text, 2, '0') || '-'
                            || lpad(extract(day FROM day)::int::text, 2, '0'), 0)
$$;

ALTER FUNCTION tell_staff(bigint, integer, text, bigint[], bigint)
    SET plan_cache_mode = force_generic_plan;
