-- Reminders: planning them with a booking, and the dispatcher's claim / settle cycle.
-- Every time here is the database clock's (now()); a claim takes a lease, and only the
-- holder of the lease (same id, status 'sending' and leased_until) may settle a row.

-- name: plan
-- Plans a booking's messages (plan_messages: the confirmation unless $6 is false, and the
-- reminders $3 due at $4 still ahead) and wakes the dispatchers at commit.
-- $1 booking_id bigint, $2 chat_id bigint, $3 kinds text[], $4 due_ats timestamptz[],
-- $5 channel text, $6 with_confirmation boolean
SELECT p.kind, p.due_at, p.status, pg_notify($5::text, '') AS woken
FROM plan_messages($1::bigint, $2::bigint, $3::text[], $4::timestamptz[], $6::boolean) AS p
ORDER BY p.due_at;

-- name: notify
-- Plans one message about a booking to a chat, due now (a notice, not a reminder), and
-- wakes the dispatchers at commit; one of that kind still pending for the chat is not
-- planned twice (it will show the booking as it is when claimed).
-- $1 booking_id bigint, $2 chat_id bigint, $3 kind text, $4 channel text
WITH planned AS (
    INSERT INTO notifications (booking_id, chat_id, kind, due_at)
    VALUES ($1::bigint, $2::bigint, $3::text, now())
    ON CONFLICT (booking_id, kind, chat_id) WHERE status = 'pending' DO NOTHING
    RETURNING kind
)
SELECT count(*)::int AS planned, pg_notify($4::text, '') AS woken
FROM planned;

-- name: cancel_pending
-- Cancels a booking's confirmation and reminders not sent yet, not its notices; returns
-- how many. One being sent right now is left to its dispatcher: it reaches the chat
-- anyway, is settled as sent and becomes a card that the booking's next notice strips
-- (a lease that ran out is cancelled: its dispatcher is gone).
-- $1 booking_id bigint
WITH cancelled AS (
    UPDATE notifications
    SET status = 'cancelled', leased_until = NULL
    WHERE booking_id = $1::bigint
      AND (status = 'pending' OR (status = 'sending' AND leased_until < now()))
      AND kind IN ('confirmation', '24h', '6h', '30m')
    RETURNING 1
)
SELECT count(*)::int FROM cancelled;

-- name: offer_slot
-- A booked slot was freed: offers it, due now, to the oldest $4 active waitlist entries
-- of that doctor and day, not the patient who freed it ($5); wakes the dispatchers.
-- Returns how many were offered.
-- $1 doctor_id int, $2 day date, $3 slot_at timestamptz, $4 fanout int, $5 except_user
-- bigint, $6 channel text
WITH offered AS (
    INSERT INTO notifications (chat_id, kind, due_at, waitlist_id, slot_at)
    SELECT w.user_id, 'waitlist_offer', now(), w.id, $3::timestamptz
    FROM waitlist AS w
    WHERE w.doctor_id = $1::int AND w.day = $2::date AND w.status = 'active'
      AND w.user_id IS DISTINCT FROM $5::bigint
    ORDER BY w.created_at, w.id
    LIMIT $4::int
    ON CONFLICT (waitlist_id, slot_at) WHERE status IN ('pending', 'sending') DO NOTHING
    RETURNING 1
)
SELECT count(*)::int AS offered, pg_notify($6::text, '') AS woken
FROM offered;

-- name: notify_staff
-- Tells the staff of a booking's event ($3: staff_new_booking, staff_cancelled or
-- staff_moved) through tell_staff: the doctor, reception and admins ($4, the ADMIN_IDS),
-- never $5. Wakes the dispatchers; returns how many were planned.
-- $1 booking_id bigint, $2 doctor_id int, $3 kind text, $4 admin_ids bigint[],
-- $5 except_chat bigint, $6 channel text
SELECT tell_staff($1::bigint, $2::int, $3::text, $4::bigint[], $5::bigint) AS planned,
       pg_notify($6::text, '') AS woken;

-- name: record_card
-- The bot sent a message about a booking with its buttons (a card of "my bookings").
-- $1 chat_id bigint, $2 message_id bigint, $3 booking_id bigint
INSERT INTO chat_cards (chat_id, message_id, booking_id)
VALUES ($1::bigint, $2::bigint, $3::bigint)
ON CONFLICT DO NOTHING;

-- name: booking_reminders
-- A booking's messages, in due order.
-- $1 booking_id bigint
SELECT kind, due_at, status
FROM notifications
WHERE booking_id = $1::bigint AND kind IN ('confirmation', '24h', '6h', '30m')
ORDER BY due_at, id;

-- name: claim_due
-- Claims up to $1 due rows (pending and due, or leased by a dispatcher whose lease ran
-- out), skipping rows another dispatcher is claiming, and leases them for $2 seconds.
-- With a rate $3 > 0 it also takes tokens from the shared bucket (rate $3 a second,
-- burst $4), never more than one row per chat, and only chats free of a message for $5
-- seconds. A reminder or confirmation whose booking was cancelled, or a reminder whose
-- visit has begun, is cancelled instead of leased; a notice of a cancellation is sent,
-- once the booking's cards in flight are settled. Returns the rows with what their
-- text needs.
-- $1 batch int, $2 lease_seconds float8, $3 rate float8 (0: no limits),
-- $4 burst float8, $5 chat_interval_seconds float8
WITH pending AS (
    SELECT n.id, n.chat_id, n.due_at
    FROM notifications AS n
    WHERE n.status = 'pending' AND n.due_at <= now()
      AND ($3::float8 = 0 OR NOT EXISTS (
          SELECT 1 FROM chat_pace AS p WHERE p.chat_id = n.chat_id AND p.next_at > now()))
      -- A notice that strips a booking's cards waits while one of them is being sent:
      -- its message id is known only once that send is settled.
      AND NOT (n.kind IN ('cancelled', 'cancelled_by_clinic', 'moved') AND EXISTS (
          SELECT 1 FROM notifications AS s
          WHERE s.booking_id = n.booking_id AND s.chat_id = n.chat_id
            AND s.status = 'sending' AND s.id <> n.id))
    ORDER BY n.due_at
    LIMIT $1::int
    FOR UPDATE OF n SKIP LOCKED
),
expired AS (
    SELECT n.id, n.chat_id, n.due_at
    FROM notifications AS n
    WHERE n.status = 'sending' AND n.leased_until < now()
      AND ($3::float8 = 0 OR NOT EXISTS (
          SELECT 1 FROM chat_pace AS p WHERE p.chat_id = n.chat_id AND p.next_at > now()))
    ORDER BY n.leased_until
    LIMIT $1::int
    FOR UPDATE OF n SKIP LOCKED
),
due AS (
    SELECT DISTINCT ON (CASE WHEN $3::float8 > 0 THEN u.chat_id ELSE u.id END)
           u.id, u.chat_id, u.due_at
    FROM (SELECT * FROM pending UNION ALL SELECT * FROM expired) AS u
    ORDER BY CASE WHEN $3::float8 > 0 THEN u.chat_id ELSE u.id END, u.due_at, u.id
),
budget AS (
    INSERT INTO send_pace AS s (id, paid_until, granted)
    SELECT 1, now() + make_interval(secs => w.n / $3::float8), w.n
    FROM (SELECT least(floor($4::float8), count(*))::int AS n FROM due) AS w
    WHERE $3::float8 > 0
    ON CONFLICT (id) DO UPDATE
    SET granted = least(excluded.granted, greatest(0, floor($4::float8 - $3::float8
            * extract(epoch FROM greatest(s.paid_until, now()) - now())::float8)))::int,
        paid_until = greatest(s.paid_until, now()) + make_interval(secs =>
            least(excluded.granted, greatest(0, floor($4::float8 - $3::float8
                * extract(epoch FROM greatest(s.paid_until, now()) - now())::float8)))
            / $3::float8)
    RETURNING s.granted
),
chosen AS (
    SELECT d.id, d.chat_id
    FROM due AS d
    ORDER BY d.due_at, d.id
    LIMIT (SELECT b.granted FROM budget AS b)
),
gate AS (
    INSERT INTO chat_pace AS p (chat_id, next_at)
    SELECT c.chat_id, now() + make_interval(secs => $5::float8)
    FROM chosen AS c
    WHERE $3::float8 > 0
    ON CONFLICT (chat_id) DO UPDATE
    SET next_at = excluded.next_at
    WHERE p.next_at <= now()
    RETURNING p.chat_id
),
ready AS (
    SELECT c.id, coalesce(x.slot_at, b.starts_at) AS starts_at,
           coalesce(x.slot_at + make_interval(secs => $6::float8), b.ends_at) AS ends_at,
           b.revision, d.id AS doctor_id,
           d.last_name, d.first_name, d.middle_name, d.specialization, b.cancel_reason,
           coalesce(b.patient_name, concat_ws(' ', u.first_name, u.last_name)) AS patient,
           u.username, b.phone, b.source, b.cancelled_by, cu.language_code AS language,
           CASE WHEN x.kind IN ('cancelled', 'cancelled_by_clinic', 'moved')
                THEN ARRAY(SELECT k.message_id
                           FROM chat_cards AS k
                           WHERE k.booking_id = x.booking_id AND k.chat_id = x.chat_id
                           ORDER BY k.message_id)
                ELSE '{}'::bigint[] END AS cards,
           CASE WHEN x.kind = 'confirmation' THEN b.status = 'confirmed'
                WHEN x.kind IN ('24h', '6h', '30m')
                    THEN b.status = 'confirmed' AND b.starts_at > now()
                WHEN x.kind = 'waitlist_offer'
                    THEN w.status = 'active' AND x.slot_at > now() AND NOT EXISTS (
                        SELECT 1 FROM bookings AS o
                        WHERE o.doctor_id = w.doctor_id AND o.status = 'confirmed'
                          AND o.starts_at < x.slot_at + make_interval(secs => $6::float8)
                          AND o.ends_at > x.slot_at)
                ELSE true
           END AS live
    FROM chosen AS c
    JOIN notifications AS x ON x.id = c.id
    LEFT JOIN bookings AS b ON b.id = x.booking_id
    LEFT JOIN waitlist AS w ON w.id = x.waitlist_id
    JOIN doctor_cards AS d ON d.id = coalesce(b.doctor_id, w.doctor_id)
    LEFT JOIN users AS u ON u.telegram_id = b.user_id
    LEFT JOIN users AS cu ON cu.telegram_id = x.chat_id  -- whose language the text speaks
    WHERE $3::float8 = 0 OR c.chat_id IN (SELECT g.chat_id FROM gate AS g)
)
UPDATE notifications AS n
SET status = CASE WHEN r.live THEN 'sending' ELSE 'cancelled' END,
    leased_until = CASE WHEN r.live THEN now() + make_interval(secs => $2::float8) END,
    attempts = n.attempts + CASE WHEN r.live THEN 1 ELSE 0 END,
    last_error = CASE WHEN r.live THEN n.last_error ELSE 'no longer due: cancelled, begun or taken' END
FROM ready AS r
WHERE n.id = r.id
RETURNING n.id, n.booking_id, n.waitlist_id, n.chat_id, n.kind, n.status, n.leased_until,
          n.attempts, extract(epoch FROM now() - n.due_at)::float8 AS overdue,
          now() AS claimed_at, r.starts_at, r.ends_at, r.revision, r.doctor_id,
          r.last_name, r.first_name, r.middle_name, r.specialization, r.cancel_reason, r.patient, r.username, r.phone, r.source,
          r.cancelled_by, r.language, r.cards;

-- name: settle
-- Records what became of claimed rows, one array element per row: 'sent', 'failed', or
-- 'pending' again after $4 seconds; $5 is taken off attempts (a send that never counted:
-- released unsent, or refused with 429); $6 is the error, if any; $8 the sent message's
-- id. A row whose lease ($2) is no longer held is left alone. With $7 > 0 each settled
-- row's chat gets no message for $7 seconds from now, so messages to a chat are that far
-- apart even when a send was slow. A sent message with a booking's buttons becomes one
-- of the chat's cards of it; a sent notice that the booking was cancelled or moved
-- forgets the cards before it (the dispatcher has taken their buttons away). Returns
-- the ids settled.
-- $1 ids bigint[], $2 leases timestamptz[], $3 statuses text[], $4 delays float8[],
-- $5 refunds int[], $6 errors text[], $7 chat_interval_seconds float8 (0: no pacing),
-- $8 message_ids bigint[]
WITH settled AS (
    UPDATE notifications AS n
    SET status = r.status,
        leased_until = NULL,
        due_at = CASE WHEN r.status = 'pending' THEN now() + make_interval(secs => r.delay)
                      ELSE n.due_at END,
        sent_at = CASE WHEN r.status = 'sent' THEN now() END,
        attempts = greatest(0, n.attempts - r.refund),
        last_error = coalesce(r.error, n.last_error),
        message_id = coalesce(r.message_id, n.message_id)
    FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[], $5::int[],
                $6::text[], $8::bigint[]) AS r (id, lease, status, delay, refund, error,
                                                message_id)
    WHERE n.id = r.id AND n.status = 'sending' AND n.leased_until = r.lease
    RETURNING n.id, n.chat_id, n.booking_id, n.kind, n.status, n.message_id
),
paced AS (
    INSERT INTO chat_pace AS p (chat_id, next_at)
    SELECT DISTINCT s.chat_id, now() + make_interval(secs => $7::float8)
    FROM settled AS s
    WHERE $7::float8 > 0
    ON CONFLICT (chat_id) DO UPDATE
    SET next_at = greatest(p.next_at, excluded.next_at)
),
carded AS (
    INSERT INTO chat_cards (chat_id, message_id, booking_id)
    SELECT s.chat_id, s.message_id, s.booking_id
    FROM settled AS s
    WHERE s.status = 'sent' AND s.message_id IS NOT NULL
      AND s.kind IN ('confirmation', '24h', '6h', '30m', 'moved')
    ON CONFLICT DO NOTHING
),
forgotten AS (
    DELETE FROM chat_cards AS k
    USING settled AS s
    WHERE s.status = 'sent' AND s.kind IN ('cancelled', 'cancelled_by_clinic', 'moved')
      AND k.booking_id = s.booking_id AND k.chat_id = s.chat_id
      AND k.message_id < coalesce(s.message_id, 0)
)
SELECT s.id FROM settled AS s;

-- name: block_users
-- Marks users who blocked the bot (their chat id is their Telegram id).
-- $1 chat_ids bigint[]
UPDATE users
SET blocked_at = now()
WHERE telegram_id = ANY ($1::bigint[]) AND blocked_at IS NULL;

-- name: cancel_chats_pending
-- Cancels the pending messages of chats that refuse the bot; returns how many.
-- $1 chat_ids bigint[], $2 error text
WITH cancelled AS (
    UPDATE notifications
    SET status = 'cancelled', last_error = $2::text
    WHERE chat_id = ANY ($1::bigint[]) AND status = 'pending'
    RETURNING 1
)
SELECT count(*)::int FROM cancelled;

-- name: slow_down
-- After a 429: no tokens in the shared bucket for $1 seconds, for every replica.
-- $1 retry_after_seconds float8, $2 rate float8 (> 0), $3 burst float8
INSERT INTO send_pace AS s (id, paid_until, granted)
VALUES (1, now() + make_interval(secs => $1::float8 + $3::float8 / $2::float8), 0)
ON CONFLICT (id) DO UPDATE
SET paid_until = greatest(s.paid_until, excluded.paid_until);

-- name: next_due
-- Seconds from now to the next due row or lease expiry (negative: overdue); NULL when
-- nothing waits.
SELECT extract(epoch FROM least(
           (SELECT min(due_at) FROM notifications WHERE status = 'pending'),
           (SELECT min(leased_until) FROM notifications WHERE status = 'sending'))
       - now())::float8;

-- name: purge_done
-- Deletes up to $2 sent or cancelled rows due more than $1 seconds ago; returns how many.
-- $1 retention_seconds float8, $2 max_rows int
WITH old AS (
    SELECT id
    FROM notifications
    WHERE status IN ('sent', 'cancelled')
      AND due_at < now() - make_interval(secs => $1::float8)
    LIMIT $2::int
),
deleted AS (
    DELETE FROM notifications AS n
    USING old
    WHERE n.id = old.id
    RETURNING 1
)
SELECT count(*)::int FROM deleted;

-- name: purge_chat_pace
-- Forgets per-chat pacing that no longer holds anything back.
DELETE FROM chat_pace
WHERE next_at < now() - interval '1 minute';
