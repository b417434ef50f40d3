CREATE OR REPLACE FUNCTION schedule_lock_key(doctor_id integer, day date) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended('schedule:' || coalesce(doctor_id::text, 'clinic') || ':' || day, 0)
$$;

ALTER FUNCTION tell_staff(bigint, integer, text, bigint[], bigint) RESET plan_cache_mode;
