CREATE OR REPLACE FUNCTION patient_may_book(user_id bigint, now timestamptz, cap integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtextextended('booking:patient:' || patient_may_book.user_id, 0));
    RETURN patient_may_book.cap IS NULL
        OR (SELECT count(*) FROM bookings AS b
            WHERE b.user_id = patient_may_book.user_id AND b.status = 'confirmed'
              AND b.starts_at > patient_may_book.now) < patient_may_book.cap;
END
$$;
