-- Staff: members and roles, the clinic's day, days off, closures, the schedule locks,
-- the audit log and the export. Dates are the clinic's; instants are timestamptz.

-- name: get_member
-- One staff member; no row when the Telegram id is not staff.
-- $1 telegram_id bigint
SELECT telegram_id, role, doctor_id, notify
FROM staff
WHERE telegram_id = $1::bigint;

-- name: list_members
-- Every staff member, admins first.
SELECT telegram_id, role, doctor_id, notify
FROM staff
ORDER BY array_position(ARRAY['admin', 'reception', 'doctor'], role), telegram_id;

-- name: upsert_member
-- Adds a staff member or changes their role; returns the row and whether it was new.
-- Raises staff_doctor_key when another member is that doctor.
-- $1 telegram_id bigint, $2 role text, $3 doctor_id int
INSERT INTO staff (telegram_id, role, doctor_id)
VALUES ($1::bigint, $2::text, $3::int)
ON CONFLICT (telegram_id) DO UPDATE
SET role = excluded.role, doctor_id = excluded.doctor_id
RETURNING telegram_id, role, doctor_id, notify, (xmax = 0) AS created;

-- name: set_notify
-- Turns a member's Telegram notices on or off; an admin of ADMIN_IDS with no row gets
-- one ($2, $3 are the role and doctor to give a new row).
-- $1 telegram_id bigint, $2 role text, $3 doctor_id int, $4 notify boolean
INSERT INTO staff (telegram_id, role, doctor_id, notify)
VALUES ($1::bigint, $2::text, $3::int, $4::boolean)
ON CONFLICT (telegram_id) DO UPDATE
SET notify = excluded.notify
RETURNING telegram_id, role, doctor_id, notify;

-- name: delete_member
-- Removes a staff member; returns the row removed, none when there was none.
-- $1 telegram_id bigint
DELETE FROM staff
WHERE telegram_id = $1::bigint
RETURNING telegram_id, role, doctor_id, notify;

-- name: day_doctors
-- The doctors of a day view (all, or one), with their hours that weekday: their own
-- hours if they have any rows, else the clinic's default week ($3, $4 on Monday to
-- Saturday); NULL hours when they do not work that weekday.
-- $1 doctor_id int (NULL: all), $2 weekday int (ISO), $3 default_starts time,
-- $4 default_ends time
SELECT d.id AS doctor_id, d.last_name, d.first_name, d.middle_name, d.specialization,
       CASE WHEN EXISTS (SELECT 1 FROM doctor_hours AS x WHERE x.doctor_id = d.id)
            THEN h.starts
            WHEN $2::int BETWEEN 1 AND 6 THEN $3::time END AS starts,
       CASE WHEN EXISTS (SELECT 1 FROM doctor_hours AS x WHERE x.doctor_id = d.id)
            THEN h.ends
            WHEN $2::int BETWEEN 1 AND 6 THEN $4::time END AS ends
FROM doctor_cards AS d
LEFT JOIN doctor_hours AS h ON h.doctor_id = d.id AND h.weekday = $2::int
WHERE $1::int IS NULL OR d.id = $1::int
ORDER BY d.last_name, d.first_name, d.id;

-- name: day_bookings
-- Every booking (confirmed or cancelled) starting in [$2, $3), of one doctor or all,
-- with the patient: the Telegram user's names, else the name staff wrote down.
-- $1 doctor_id int (NULL: all), $2 from timestamptz, $3 to timestamptz
SELECT b.*, u.first_name AS user_first_name, u.last_name AS user_last_name, u.username
FROM booking_cards AS b
LEFT JOIN users AS u ON u.telegram_id = b.user_id
WHERE ($1::int IS NULL OR b.doctor_id = $1::int)
  AND b.starts_at >= $2::timestamptz AND b.starts_at < $3::timestamptz
ORDER BY b.starts_at, b.status, b.id;

-- name: user_exists
-- Whether a Telegram user has used the bot or the MiniApp.
-- $1 telegram_id bigint
SELECT EXISTS (SELECT 1 FROM users WHERE telegram_id = $1::bigint);

-- name: doctor_own_hours
-- A doctor's own weekly hours (none: the clinic's default week); no row for no doctor.
-- $1 doctor_id int
SELECT d.id AS doctor_id,
       ARRAY(SELECT (h.weekday, h.starts, h.ends)
             FROM doctor_hours AS h
             WHERE h.doctor_id = d.id
             ORDER BY h.weekday) AS hours
FROM doctors AS d
WHERE d.id = $1::int;

-- name: lock_days
-- Takes the schedule locks of the days [$2, $3] exclusive, for a time off of a doctor
-- ($1) or a closure ($1 NULL), until the transaction ends: bookings of those days then
-- wait, and those that committed before are visible to the next statement.
-- generate_series yields the days in order, so two of these never lock crosswise.
-- $1 doctor_id int, $2 first date, $3 last date
SELECT count(pg_advisory_xact_lock(schedule_lock_key($1::int, day::date)))::int
FROM generate_series($2::date, $3::date, interval '1 day') AS day;

-- name: list_time_off
-- A doctor's days off ending on or after $2, soonest first.
-- $1 doctor_id int, $2 since date
SELECT id, doctor_id, date_from, date_to, reason, created_at
FROM time_off
WHERE doctor_id = $1::int AND date_to >= $2::date
ORDER BY date_from, id;

-- name: day_time_off
-- The days off covering one date, of one doctor or all.
-- $1 doctor_id int (NULL: all), $2 day date
SELECT id, doctor_id, date_from, date_to, reason, created_at
FROM time_off
WHERE ($1::int IS NULL OR doctor_id = $1::int) AND $2::date BETWEEN date_from AND date_to
ORDER BY doctor_id, date_from;

-- name: insert_time_off
-- Adds days off; raises time_off_no_overlap when they overlap the doctor's others.
-- $1 doctor_id int, $2 date_from date, $3 date_to date, $4 reason text, $5 created_by bigint
INSERT INTO time_off (doctor_id, date_from, date_to, reason, created_by)
VALUES ($1::int, $2::date, $3::date, $4::text, $5::bigint)
RETURNING id, doctor_id, date_from, date_to, reason, created_at;

-- name: delete_time_off
-- Removes days off; returns the row removed, none when there was none.
-- $1 time_off_id bigint
DELETE FROM time_off
WHERE id = $1::bigint
RETURNING id, doctor_id, date_from, date_to, reason, created_at;

-- name: list_closures
-- The days the clinic is closed, on or after $1, soonest first.
-- $1 since date
SELECT id, day AS date, reason, created_at
FROM closures
WHERE day >= $1::date
ORDER BY day;

-- name: get_closure
-- The closure of one date; no row when the clinic is open.
-- $1 day date
SELECT id, day AS date, reason, created_at
FROM closures
WHERE day = $1::date;

-- name: insert_closure
-- Closes the clinic for a day; raises closures_day_key when it is closed already.
-- $1 day date, $2 reason text, $3 created_by bigint
INSERT INTO closures (day, reason, created_by)
VALUES ($1::date, $2::text, $3::bigint)
RETURNING id, day AS date, reason, created_at;

-- name: delete_closure
-- Opens a closed day again; returns the row removed, none when there was none.
-- $1 closure_id bigint
DELETE FROM closures
WHERE id = $1::bigint
RETURNING id, day AS date, reason, created_at;

-- name: record_action
-- The audit log: one staff write, who did it (NULL: the shell), the row before and after.
-- $1 actor bigint, $2 action text, $3 subject text, $4 before jsonb, $5 after jsonb
INSERT INTO staff_actions (actor, action, subject, before, after)
VALUES ($1::bigint, $2::text, $3::text, $4::jsonb, $5::jsonb);

-- name: list_actions
-- The audit log, newest first, before the id $1 (NULL: from the newest), $2 at most.
-- $1 before_id bigint, $2 max_rows int
SELECT id, actor, action, subject, before, after, created_at
FROM staff_actions
WHERE $1::bigint IS NULL OR id < $1::bigint
ORDER BY id DESC
LIMIT $2::int;

-- name: export_bookings
-- Every booking starting in [$1, $2), for the CSV export, with the patient's names.
-- $1 from timestamptz, $2 to timestamptz
SELECT b.*, u.first_name AS user_first_name, u.last_name AS user_last_name, u.username
FROM booking_cards AS b
LEFT JOIN users AS u ON u.telegram_id = b.user_id
WHERE b.starts_at >= $1::timestamptz AND b.starts_at < $2::timestamptz
ORDER BY b.starts_at, b.doctor_id, b.id;
