-- patient_may_book counted a patient's upcoming bookings with a full scan of the partial
-- exclusion index bookings_patient_no_overlap (its WHERE status = 'confirmed' matched,
-- and with statistics of a table that was still small both indexes cost the same): 1.1
-- to 1.7 ms and 1,300-2,400 index entries for a patient with none, 43% of a booking's
-- time in the database (pg_stat_statements, bench.booking). Asked in the order of
-- migration 0012's index (user_id, starts_at), only that index answers without a sort,
-- so the planner takes it whatever the statistics say; and it stops at `cap` rows.
CREATE OR REPLACE FUNCTION patient_may_book(user_id bigint, now timestamptz, cap integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtextextended('booking:patient:' || patient_may_book.user_id, 0));
    RETURN patient_may_book.cap IS NULL
        OR (SELECT count(*)
            FROM (SELECT 1
                  FROM bookings AS b
                  WHERE b.user_id = patient_may_book.user_id AND b.status = 'confirmed'
                    AND b.starts_at > patient_may_book.now
                  ORDER BY b.user_id, b.starts_at
                  LIMIT patient_may_book.cap) AS upcoming) < patient_may_book.cap;
END
$$;
