-- A booking in one statement, so one round trip: the booking insert calls these two
-- to plan its messages beside it (sql/booking.sql `book`); sql/reminders.sql's `plan`
-- and `notify_staff` call the same ones inside a longer transaction (a move, a cancel).
-- They only insert the values they are given, so they need not see the booking row a
-- statement is inserting at the same time; its foreign key is checked when they run.
--
-- All four functions a booking calls are PL/pgSQL: it keeps each statement's plan for
-- the session, where a LANGUAGE sql function (not inlined) plans its body on every
-- call. Each statement still runs with a fresh snapshot (VOLATILE, READ COMMITTED), so
-- booking_day_open and patient_may_book still look after taking their locks.

CREATE OR REPLACE FUNCTION booking_day_open(doctor_id integer, day date) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(schedule_lock_key(booking_day_open.doctor_id,
                                                           booking_day_open.day)),
            pg_advisory_xact_lock_shared(schedule_lock_key(NULL, booking_day_open.day));
    RETURN NOT EXISTS (SELECT 1 FROM time_off AS t
                       WHERE t.doctor_id = booking_day_open.doctor_id
                         AND booking_day_open.day BETWEEN t.date_from AND t.date_to)
       AND NOT EXISTS (SELECT 1 FROM closures AS c WHERE c.day = booking_day_open.day);
END
$$;

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

-- A booking's messages: the confirmation (due now; left out with with_confirmation
-- false, as after a move, which sends its own notice) and the reminders the app worked
-- out (24 h, 6 h and 30 min before, moved out of quiet hours), those still ahead of the
-- database clock. Returns what it planned.
CREATE FUNCTION plan_messages(
    booking_id bigint, chat_id bigint, kinds text[], due_ats timestamptz[],
    with_confirmation boolean
) RETURNS TABLE (kind text, due_at timestamptz, status text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    INSERT INTO notifications AS n (booking_id, chat_id, kind, due_at)
    SELECT plan_messages.booking_id, plan_messages.chat_id, k.kind, k.due_at
    FROM (SELECT 'confirmation'::text AS kind, now() AS due_at
          WHERE plan_messages.with_confirmation
          UNION ALL
          SELECT r.kind, r.due_at
          FROM unnest(plan_messages.kinds, plan_messages.due_ats) AS r (kind, due_at)
          WHERE r.due_at > now()) AS k
    RETURNING n.kind, n.due_at, n.status;
END
$$;

-- Tells the staff with notices on of a booking's event (staff_new_booking,
-- staff_cancelled or staff_moved), due now: the doctor themselves, reception and admins
-- (admin_ids, the ADMIN_IDS setting, are admins with or without a row); never the staff
-- member who did it (except_chat). One of that kind still pending for a chat is not
-- planned twice. Returns how many were planned.
CREATE FUNCTION tell_staff(
    booking_id bigint, doctor_id integer, kind text, admin_ids bigint[], except_chat bigint
) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    planned integer;
BEGIN
    WITH members AS (
        SELECT s.telegram_id, s.notify,
               CASE WHEN s.telegram_id = ANY (tell_staff.admin_ids) THEN 'admin'
                    ELSE s.role END AS role,
               s.doctor_id
        FROM staff AS s
        UNION ALL
        SELECT a.id, true, 'admin', NULL
        FROM unnest(tell_staff.admin_ids) AS a (id)
        WHERE NOT EXISTS (SELECT 1 FROM staff AS s WHERE s.telegram_id = a.id)
    ),
    told AS (
        INSERT INTO notifications (booking_id, chat_id, kind, due_at)
        SELECT tell_staff.booking_id, m.telegram_id, tell_staff.kind, now()
        FROM members AS m
        WHERE m.notify AND (m.role IN ('admin', 'reception') OR m.doctor_id = tell_staff.doctor_id)
          AND m.telegram_id IS DISTINCT FROM tell_staff.except_chat
        ON CONFLICT (booking_id, kind, chat_id) WHERE status = 'pending' DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::int INTO planned FROM told;
    RETURN planned;
END
$$;
