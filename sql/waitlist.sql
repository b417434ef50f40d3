-- The waitlist: patients waiting for a slot of a doctor's full day, and the offers the
-- job table carries to them when one frees up (reminders.offer_slot plans them).

-- name: join_waitlist
-- Puts the patient on the waitlist for a doctor's day, unless they already wait for $4
-- ($5 days ahead of that count too) or more days; `room` false then. No entry when they
-- already wait for that day (an active one exists). Counted under the patient's lock
-- with a fresh snapshot (waitlist_room), so concurrent joins never pass the cap.
-- $1 user_id bigint, $2 doctor_id int, $3 day date, $4 today date, $5 max_entries int
WITH room AS (
    SELECT waitlist_room($1::bigint, $4::date, $5::int) AS room
),
joined AS (
    INSERT INTO waitlist (user_id, doctor_id, day)
    SELECT $1::bigint, $2::int, $3::date
    FROM room
    WHERE room.room
    ON CONFLICT (user_id, doctor_id, day) WHERE status = 'active' DO NOTHING
    RETURNING id, doctor_id, day, created_at
)
SELECT r.room, j.id, j.doctor_id, j.day, j.created_at
FROM room AS r
LEFT JOIN joined AS j ON true;

-- name: active_entry
-- The patient's active entry for a doctor's day; no row when there is none.
-- $1 user_id bigint, $2 doctor_id int, $3 day date
SELECT w.id, w.doctor_id, w.day, w.created_at
FROM waitlist AS w
WHERE w.user_id = $1::bigint AND w.doctor_id = $2::int AND w.day = $3::date
  AND w.status = 'active';

-- name: list_entries
-- The patient's active entries for days from $2 on, soonest first, with the doctor.
-- $1 user_id bigint, $2 today date
SELECT w.id, w.doctor_id, w.day, w.created_at, d.last_name, d.first_name, d.middle_name,
       d.specialization
FROM waitlist AS w
JOIN doctor_cards AS d ON d.id = w.doctor_id
WHERE w.user_id = $1::bigint AND w.status = 'active' AND w.day >= $2::date
ORDER BY w.day, w.created_at;

-- name: leave_waitlist
-- The patient leaves the waitlist: true when the entry is theirs (removing it twice is the
-- same as once), false when it is someone else's or does not exist.
-- $1 entry_id bigint, $2 user_id bigint
WITH removed AS (
    UPDATE waitlist
    SET status = 'removed', ended_at = now()
    WHERE id = $1::bigint AND user_id = $2::bigint AND status = 'active'
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM waitlist WHERE id = $1::bigint AND user_id = $2::bigint);

-- name: get_offer
-- An offer sent to a chat: the slot, the doctor and the entry it was made for; no row
-- when there is no such offer.
-- $1 offer_id bigint (the notification's id)
SELECT n.id, n.chat_id, n.slot_at, w.id AS waitlist_id, w.user_id, w.doctor_id, w.day,
       w.status AS entry_status
FROM notifications AS n
JOIN waitlist AS w ON w.id = n.waitlist_id
WHERE n.id = $1::bigint AND n.kind = 'waitlist_offer';

-- name: end_entry
-- A booking made through an offer ends the entry, in the booking's transaction.
-- $1 entry_id bigint, $2 booking_id bigint
UPDATE waitlist
SET status = 'booked', booking_id = $2::bigint, ended_at = now()
WHERE id = $1::bigint AND status = 'active';
