-- Booking: free slots, booking, listing and cancelling. Every booking is returned as a
-- booking card (the view booking_cards: the booking with its doctor's name), so the API
-- and the bot get the doctor with the booking.

-- name: doctor_week
-- A doctor's own weekly hours (empty: the clinic's default week) and the confirmed
-- bookings that overlap [$2, $3); no row when there is no such doctor.
-- $1 doctor_id int, $2 from timestamptz, $3 to timestamptz
SELECT
    ARRAY(SELECT (h.weekday, h.starts, h.ends)
          FROM doctor_hours AS h
          WHERE h.doctor_id = d.id
          ORDER BY h.weekday) AS hours,
    ARRAY(SELECT tstzrange(b.starts_at, b.ends_at)
          FROM bookings AS b
          WHERE b.doctor_id = d.id AND b.status = 'confirmed'
            AND b.starts_at < $3::timestamptz AND b.ends_at > $2::timestamptz
          ORDER BY b.starts_at) AS booked
FROM doctors AS d
WHERE d.id = $1::int;

-- name: insert_booking
-- Books a slot; raises on bookings_doctor_no_overlap (the slot is taken) or
-- bookings_patient_no_overlap (the patient is booked elsewhere at that time).
-- Contenders for one doctor's slot, and one patient's concurrent bookings, queue on
-- transaction-scoped advisory locks (doctor's slot first, then patient, so no cycle)
-- before inserting: the exclusion check alone lets two inserters deadlock, while
-- queued, each later one finds the committed row and fails at once.
-- $1 doctor_id int, $2 user_id bigint, $3 starts_at timestamptz, $4 ends_at timestamptz
WITH queued AS (
    SELECT pg_advisory_xact_lock(hashtextextended(
               'booking:doctor:' || $1::int || ':' || extract(epoch FROM $3::timestamptz), 0)),
           pg_advisory_xact_lock(hashtextextended('booking:patient:' || $2::bigint, 0))
),
b AS (
    INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at)
    SELECT $1::int, $2::bigint, $3::timestamptz, $4::timestamptz
    FROM queued
    RETURNING *
)
-- The card's doctor columns, as booking_cards has them (a statement cannot read its own
-- insert through the view).
SELECT b.*, d.last_name, d.first_name, d.middle_name, d.title, d.specialization, d.photo
FROM b
JOIN doctor_cards AS d ON d.id = b.doctor_id;

-- name: list_user_bookings
-- A patient's bookings: upcoming confirmed ones first, soonest first; then the rest
-- (past or cancelled), most recent first.
-- $1 user_id bigint, $2 now timestamptz, $3 max_rows int
SELECT *
FROM booking_cards AS b
WHERE b.user_id = $1::bigint
ORDER BY (b.status = 'confirmed' AND b.starts_at > $2::timestamptz) DESC,
         CASE WHEN b.status = 'confirmed' AND b.starts_at > $2::timestamptz
              THEN b.starts_at END,
         b.starts_at DESC, b.id DESC
LIMIT $3::int;

-- name: get_user_booking
-- One booking of one patient; no row when absent or someone else's.
-- $1 booking_id bigint, $2 user_id bigint
SELECT *
FROM booking_cards
WHERE id = $1::bigint AND user_id = $2::bigint;

-- name: cancel_booking
-- Cancels a patient's confirmed booking that has not started by $3; no row otherwise.
-- $1 booking_id bigint, $2 user_id bigint, $3 now timestamptz
WITH b AS (
    UPDATE bookings
    SET status = 'cancelled', cancelled_at = now()
    WHERE id = $1::bigint AND user_id = $2::bigint
      AND status = 'confirmed' AND starts_at > $3::timestamptz
    RETURNING *
)
SELECT b.*, d.last_name, d.first_name, d.middle_name, d.title, d.specialization, d.photo
FROM b
JOIN doctor_cards AS d ON d.id = b.doctor_id;
