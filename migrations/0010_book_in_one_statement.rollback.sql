DROP FUNCTION tell_staff(bigint, integer, text, bigint[], bigint);
DROP FUNCTION plan_messages(bigint, bigint, text[], timestamptz[], boolean);

CREATE OR REPLACE FUNCTION patient_may_book(user_id bigint, now timestamptz, cap integer)
RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('booking:patient:' || patient_may_book.user_id, 0));
    SELECT patient_may_book.cap IS NULL
        OR (SELECT count(*) FROM bookings AS b
            WHERE b.user_id = patient_may_book.user_id AND b.status = 'confirmed'
              AND b.starts_at > patient_may_book.now) < patient_may_book.cap;
$$;

CREATE OR REPLACE FUNCTION booking_day_open(doctor_id integer, day date) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock_shared(schedule_lock_key(booking_day_open.doctor_id, day)),
           pg_advisory_xact_lock_shared(schedule_lock_key(NULL, day));
    SELECT NOT EXISTS (SELECT 1 FROM time_off AS t
                       WHERE t.doctor_id = booking_day_open.doctor_id
                         AND booking_day_open.day BETWEEN t.date_from AND t.date_to)
       AND NOT EXISTS (SELECT 1 FROM closures AS c WHERE c.day = booking_day_open.day);
$$;
