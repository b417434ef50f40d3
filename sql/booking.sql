-- Booking: free slots, booking, listing and cancelling. Every booking is returned as a
-- booking card (the view booking_cards: the booking with its doctor's name), so the API,
-- the bot and the staff get the doctor with the booking.

-- name: doctor_weeks
-- Stretches of days of doctors, asked side by side in $1-$5 (one element each, any
-- number of them): for each, the doctor's own weekly hours (empty: the clinic's default
-- week), the confirmed bookings that overlap [from, to), and the days of
-- [first_day, last_day] the doctor is off or the clinic closed. A row for each stretch
-- whose doctor exists, `n` its place in the arrays (from 1). One stretch for one week;
-- the slots cache asks for every week it refreshes in one go.
-- Each booking is a pair [start, end) of whole seconds since the epoch (widened to whole
-- seconds, which decides nothing on the half-hour grid): the slots cache compares each
-- answer with the one it last computed from, and integers are far cheaper for the
-- client to decode and compare than ranges.
-- $1 doctor_id int[], $2 from timestamptz[], $3 to timestamptz[], $4 first_day date[],
-- $5 last_day date[]
SELECT
    w.n,
    ARRAY(SELECT (h.weekday, h.starts, h.ends)
          FROM doctor_hours AS h
          WHERE h.doctor_id = d.id
          ORDER BY h.weekday) AS hours,
    (SELECT coalesce(array_agg(ARRAY[floor(extract(epoch FROM b.starts_at)),
                                     ceil(extract(epoch FROM b.ends_at))]::int8[]
                               ORDER BY b.starts_at),
                     '{}')
     FROM bookings AS b
     WHERE b.doctor_id = d.id AND b.status = 'confirmed'
       AND b.starts_at < w.ends AND b.ends_at > w.starts) AS booked,
    ARRAY(SELECT day::date
          FROM time_off AS t,
               generate_series(greatest(t.date_from, w.first_day),
                               least(t.date_to, w.last_day), interval '1 day') AS day
          WHERE t.doctor_id = d.id AND t.date_from <= w.last_day AND t.date_to >= w.first_day
          UNION
          SELECT c.day
          FROM closures AS c
          WHERE c.day BETWEEN w.first_day AND w.last_day) AS off_days
FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[], $4::date[], $5::date[])
         WITH ORDINALITY AS w (doctor_id, starts, ends, first_day, last_day, n)
JOIN doctors AS d ON d.id = w.doctor_id
ORDER BY w.n;

-- name: book
-- Books a slot in one statement, so in one round trip, and says why when it does not:
-- `found` false for no such doctor; `in_hours` false when the start ($12, clinic time, a
-- $11 ISO weekday) is outside the doctor's hours that day (`opens`-`closes`: their own
-- week, or with no rows of their own the clinic's default $13-$14; NULL: not working
-- that weekday); `open` false when the doctor is off or the clinic closed that day ($5);
-- `room` false when the patient already holds $10 upcoming bookings (NULL: no cap).
-- Booking columns are NULL then and nothing is written. Raises on
-- bookings_doctor_no_overlap (the slot is taken) or bookings_patient_no_overlap (the
-- patient is booked elsewhere at that time): the exclusion constraints decide.
-- Contenders for one doctor's slot queue on a transaction-scoped advisory lock before
-- inserting (the exclusion check alone lets two inserters deadlock; queued, each later
-- one finds the committed row and fails at once). booking_day_open then takes the day's
-- schedule locks shared and looks at days off and closures with a fresh snapshot, so a
-- time off or a closure of that day cannot commit beside this; patient_may_book queues
-- on the patient's lock and counts their upcoming bookings the same way. With the row
-- come its messages: a Telegram patient's confirmation and reminders ($15 kinds due at
-- $16, see plan_messages), the staff's notices (tell_staff: $17 admin ids, not $18),
-- and the dispatchers' wake-up ($19) at commit (NULL: none; the caller wakes its own).
-- $1 doctor_id int, $2 user_id bigint (NULL: a staff booking of a patient without
-- Telegram), $3 starts_at timestamptz, $4 ends_at timestamptz, $5 day date,
-- $6 source text, $7 patient_name text, $8 phone text, $9 now timestamptz,
-- $10 max_upcoming int (NULL: no cap), $11 weekday int, $12 at time,
-- $13 default_opens time, $14 default_closes time, $15 kinds text[],
-- $16 due_ats timestamptz[], $17 admin_ids bigint[], $18 actor bigint, $19 channel text (NULL: no NOTIFY)
WITH doctor AS (
    SELECT d.id,
           CASE WHEN own.doctor_id IS NOT NULL THEN own.starts
                WHEN NOT EXISTS (SELECT 1 FROM doctor_hours AS h WHERE h.doctor_id = d.id)
                    THEN $13::time END AS opens,
           CASE WHEN own.doctor_id IS NOT NULL THEN own.ends
                WHEN NOT EXISTS (SELECT 1 FROM doctor_hours AS h WHERE h.doctor_id = d.id)
                    THEN $14::time END AS closes
    FROM doctors AS d
    LEFT JOIN doctor_hours AS own ON own.doctor_id = d.id AND own.weekday = $11::int
    WHERE d.id = $1::int
),
slot AS (
    SELECT d.opens, d.closes,
           coalesce($12::time >= d.opens AND d.closes - $12::time >= interval '30 minutes',
                    false) AS in_hours
    FROM doctor AS d
),
queued AS (
    SELECT pg_advisory_xact_lock(hashtextextended(
               'booking:doctor:' || $1::int || ':' || extract(epoch FROM $3::timestamptz), 0))
    FROM slot AS s
    WHERE s.in_hours
),
checks AS (
    SELECT booking_day_open($1::int, $5::date) AS open,
           $2::bigint IS NULL OR patient_may_book($2::bigint, $9::timestamptz, $10::int) AS room
    FROM queued
),
b AS (
    INSERT INTO bookings (doctor_id, user_id, starts_at, ends_at, source, patient_name, phone)
    SELECT $1::int, $2::bigint, $3::timestamptz, $4::timestamptz, $6::text, $7::text, $8::text
    FROM checks
    WHERE checks.open AND checks.room
    RETURNING *
),
planned AS (
    SELECT p.kind, p.due_at, p.status
    FROM b, plan_messages(b.id, b.user_id, $15::text[], $16::timestamptz[], true) AS p
    WHERE b.user_id IS NOT NULL
),
told AS (
    SELECT tell_staff(b.id, b.doctor_id, 'staff_new_booking', $17::bigint[], $18::bigint) AS n,
           CASE WHEN $19::text IS NOT NULL THEN pg_notify($19::text, '') END AS woken
    FROM b
)
-- The card's doctor columns, as booking_cards has them (a statement cannot read its own
-- insert through the view), and the messages planned, in due order.
SELECT EXISTS (SELECT 1 FROM doctor) AS found, s.opens, s.closes,
       coalesce(s.in_hours, false) AS in_hours, coalesce(c.open, true) AS open,
       coalesce(c.room, true) AS room,
       b.*, d.last_name, d.first_name, d.middle_name, d.title, d.specialization, d.photo,
       ARRAY(SELECT p.kind FROM planned AS p ORDER BY p.due_at) AS planned_kinds,
       ARRAY(SELECT p.due_at FROM planned AS p ORDER BY p.due_at) AS planned_due_ats,
       (SELECT count(*) FROM told) AS told
FROM (VALUES (1)) AS one (x)
LEFT JOIN slot AS s ON true
LEFT JOIN checks AS c ON true
LEFT JOIN b ON true
LEFT JOIN doctor_cards AS d ON d.id = b.doctor_id;

-- name: reschedule_booking
-- Moves a patient's confirmed booking (the same row) to another start with the same
-- doctor, if it starts later than the cut-off $8 after $7. The old time is freed only as
-- the new one is taken, in this one UPDATE: when the new slot is someone else's, the
-- exclusion constraints raise and nothing changes. `open` false when the new day is off
-- or closed, `found` false when there is no such booking to move (booking columns NULL
-- then). Queues on the new slot's lock, the day's schedule locks and the patient's lock,
-- as `book` does (no cap: the patient holds as many bookings as before).
-- $1 booking_id bigint, $2 user_id bigint, $3 doctor_id int (the booking's),
-- $4 starts_at timestamptz, $5 ends_at timestamptz, $6 day date, $7 now timestamptz,
-- $8 cutoff interval
WITH queued AS (
    SELECT pg_advisory_xact_lock(hashtextextended(
               'booking:doctor:' || $3::int || ':' || extract(epoch FROM $4::timestamptz), 0))
),
checks AS (
    SELECT booking_day_open($3::int, $6::date) AS open,
           patient_may_book($2::bigint, $7::timestamptz, NULL) AS queued_patient
    FROM queued
),
b AS (
    UPDATE bookings
    SET starts_at = $4::timestamptz, ends_at = $5::timestamptz, revision = revision + 1,
        patient_confirmed_at = NULL
    FROM checks
    WHERE checks.open AND checks.queued_patient
      AND id = $1::bigint AND user_id = $2::bigint AND doctor_id = $3::int
      AND status = 'confirmed' AND starts_at > $7::timestamptz + $8::interval
    RETURNING bookings.*
)
SELECT c.open, b.id IS NOT NULL AS found, b.*, d.last_name, d.first_name, d.middle_name,
       d.title, d.specialization, d.photo
FROM checks AS c
LEFT JOIN b ON true
LEFT JOIN doctor_cards AS d ON d.id = b.doctor_id;

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

-- name: get_booking
-- One booking, whoever's; no row when absent.
-- $1 booking_id bigint
SELECT *
FROM booking_cards
WHERE id = $1::bigint;

-- name: cancel_booking
-- Cancels a patient's confirmed booking that starts later than the cut-off $4 after $3;
-- no row otherwise.
-- $1 booking_id bigint, $2 user_id bigint, $3 now timestamptz, $4 cutoff interval
WITH b AS (
    UPDATE bookings
    SET status = 'cancelled', cancelled_at = now(), cancelled_by = 'patient',
        revision = revision + 1
    WHERE id = $1::bigint AND user_id = $2::bigint
      AND status = 'confirmed' AND starts_at > $3::timestamptz + $4::interval
    RETURNING *
)
SELECT b.*, d.last_name, d.first_name, d.middle_name, d.title, d.specialization, d.photo
FROM b
JOIN doctor_cards AS d ON d.id = b.doctor_id;

-- name: cancel_for_clinic
-- The clinic cancels confirmed bookings that have not started by $3, with a reason;
-- returns those it cancelled.
-- $1 booking_ids bigint[], $2 reason text, $3 now timestamptz
WITH b AS (
    UPDATE bookings
    SET status = 'cancelled', cancelled_at = now(), cancelled_by = 'clinic',
        cancel_reason = $2::text, revision = revision + 1
    WHERE id = ANY ($1::bigint[]) AND status = 'confirmed' AND starts_at > $3::timestamptz
    RETURNING *
)
SELECT b.*, d.last_name, d.first_name, d.middle_name, d.title, d.specialization, d.photo
FROM b
JOIN doctor_cards AS d ON d.id = b.doctor_id
ORDER BY b.starts_at, b.id;

-- name: set_attendance
-- Marks a confirmed booking arrived (from $4 before its start) or no-show (from its
-- start), as of $3; no row when it is not confirmed or it is too early.
-- $1 booking_id bigint, $2 attendance text, $3 now timestamptz, $4 arrive_early interval
WITH b AS (
    UPDATE bookings
    SET attendance = $2::text, attendance_at = $3::timestamptz
    WHERE id = $1::bigint AND status = 'confirmed'
      AND $3::timestamptz >= starts_at
          - CASE WHEN $2::text = 'arrived' THEN $4::interval ELSE interval '0' END
    RETURNING *
)
SELECT b.*, d.last_name, d.first_name, d.middle_name, d.title, d.specialization, d.photo
FROM b
JOIN doctor_cards AS d ON d.id = b.doctor_id;

-- name: confirmed_in_days
-- Confirmed bookings still ahead of $4 of one doctor ($1; NULL: every doctor) that start
-- in [$2, $3): what a day off or a closure would hit.
-- $1 doctor_id int, $2 from timestamptz, $3 to timestamptz, $4 now timestamptz
SELECT b.*, u.first_name AS user_first_name, u.last_name AS user_last_name
FROM booking_cards AS b
LEFT JOIN users AS u ON u.telegram_id = b.user_id
WHERE ($1::int IS NULL OR b.doctor_id = $1::int)
  AND b.status = 'confirmed'
  AND b.starts_at >= $2::timestamptz AND b.starts_at < $3::timestamptz
  AND b.starts_at > $4::timestamptz
ORDER BY b.starts_at, b.id;

-- name: confirm_visit
-- The patient says they will come (the 24-hour reminder's button): marks their confirmed,
-- upcoming booking; no row otherwise. Confirming twice keeps the first time.
-- $1 booking_id bigint, $2 user_id bigint, $3 now timestamptz
WITH b AS (
    UPDATE bookings
    SET patient_confirmed_at = coalesce(patient_confirmed_at, $3::timestamptz)
    WHERE id = $1::bigint AND user_id = $2::bigint
      AND status = 'confirmed' AND starts_at > $3::timestamptz
    RETURNING *
)
SELECT b.*, d.last_name, d.first_name, d.middle_name, d.title, d.specialization, d.photo
FROM b
JOIN doctor_cards AS d ON d.id = b.doctor_id;
