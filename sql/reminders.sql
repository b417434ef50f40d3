-- Reminders: planning them with a booking, and the dispatcher's claim / settle cycle.
-- Every time here is the database clock's (now()); a claim takes a lease, and only the
-- holder of the lease (same id, status 'sending' and leased_until) may settle a row.

-- name: plan
-- Plans a new booking's messages: the confirmation (due now) and the reminders 24 h, 6 h
-- and 30 min before the visit that are still ahead; wakes the dispatchers at commit.
-- Intervals in hours are exact, so a DST change between the two instants is no matter.
-- $1 booking_id bigint, $2 chat_id bigint, $3 starts_at timestamptz, $4 channel text
WITH planned AS (
    INSERT INTO notifications (booking_id, chat_id, kind, due_at)
    SELECT $1::bigint, $2::bigint, k.kind, k.due_at
    FROM (VALUES ('confirmation', now()),
                 ('24h', $3::timestamptz - interval '24 hours'),
                 ('6h', $3::timestamptz - interval '6 hours'),
                 ('30m', $3::timestamptz - interval '30 minutes')) AS k (kind, due_at)
    WHERE k.kind = 'confirmation' OR k.due_at > now()
    RETURNING kind, due_at, status
)
SELECT p.kind, p.due_at, p.status, pg_notify($4::text, '') AS woken
FROM planned AS p
ORDER BY p.due_at;

-- name: notify
-- Plans one message about a booking, due now (a notice, not a reminder), and wakes the
-- dispatchers at commit; planning the same kind twice for a booking plans it once.
-- $1 booking_id bigint, $2 chat_id bigint, $3 kind text, $4 channel text
WITH planned AS (
    INSERT INTO notifications (booking_id, chat_id, kind, due_at)
    VALUES ($1::bigint, $2::bigint, $3::text, now())
    ON CONFLICT (booking_id, kind) DO NOTHING
    RETURNING kind
)
SELECT count(*)::int AS planned, pg_notify($4::text, '') AS woken
FROM planned;

-- name: cancel_pending
-- Cancels a booking's messages not sent yet (pending, or leased and not yet settled);
-- returns how many.
-- $1 booking_id bigint
WITH cancelled AS (
    UPDATE notifications
    SET status = 'cancelled', leased_until = NULL
    WHERE booking_id = $1::bigint AND status IN ('pending', 'sending')
    RETURNING 1
)
SELECT count(*)::int FROM cancelled;

-- name: booking_reminders
-- A booking's messages, in due order.
-- $1 booking_id bigint
SELECT kind, due_at, status
FROM notifications
WHERE booking_id = $1::bigint
ORDER BY due_at, id;

-- name: claim_due
-- Claims up to $1 due rows (pending and due, or leased by a dispatcher whose lease ran
-- out), skipping rows another dispatcher is claiming, and leases them for $2 seconds.
-- With a rate $3 > 0 it also takes tokens from the shared bucket (rate $3 a second,
-- burst $4), never more than one row per chat, and only chats free of a message for $5
-- seconds. A reminder or confirmation whose booking was cancelled, or a reminder whose
-- visit has begun, is cancelled instead of leased; a notice of a cancellation is sent. Returns the rows with what their text needs.
-- $1 batch int, $2 lease_seconds float8, $3 rate float8 (0: no limits),
-- $4 burst float8, $5 chat_interval_seconds float8
WITH pending AS (
    SELECT n.id, n.chat_id, n.due_at
    FROM notifications AS n
    WHERE n.status = 'pending' AND n.due_at <= now()
      AND ($3::float8 = 0 OR NOT EXISTS (
          SELECT 1 FROM chat_pace AS p WHERE p.chat_id = n.chat_id AND p.next_at > now()))
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
    SELECT c.id, b.starts_at, d.last_name, d.first_name, d.middle_name, d.specialization,
           b.cancel_reason,
           CASE x.kind
               WHEN 'confirmation' THEN b.status = 'confirmed'
               WHEN 'cancelled_by_clinic' THEN true
               ELSE b.status = 'confirmed' AND b.starts_at > now()
           END AS live
    FROM chosen AS c
    JOIN notifications AS x ON x.id = c.id
    JOIN bookings AS b ON b.id = x.booking_id
    JOIN doctor_cards AS d ON d.id = b.doctor_id
    WHERE $3::float8 = 0 OR c.chat_id IN (SELECT g.chat_id FROM gate AS g)
)
UPDATE notifications AS n
SET status = CASE WHEN r.live THEN 'sending' ELSE 'cancelled' END,
    leased_until = CASE WHEN r.live THEN now() + make_interval(secs => $2::float8) END,
    attempts = n.attempts + CASE WHEN r.live THEN 1 ELSE 0 END,
    last_error = CASE WHEN r.live THEN n.last_error ELSE 'booking cancelled or begun' END
FROM ready AS r
WHERE n.id = r.id
RETURNING n.id, n.booking_id, n.chat_id, n.kind, n.status, n.leased_until, n.attempts,
          extract(epoch FROM now() - n.due_at)::float8 AS overdue,
          r.starts_at, r.last_name, r.first_name, r.middle_name, r.specialization,
          r.cancel_reason;

-- name: settle
-- Records what became of claimed rows, one array element per row: 'sent', 'failed', or
-- 'pending' again after $4 seconds; $5 is taken off attempts (a send that never counted:
-- released unsent, or refused with 429); $6 is the error, if any. A row whose lease
-- ($2) is no longer held is left alone. With $7 > 0 each settled row's chat gets no
-- message for $7 seconds from now, so messages to a chat are that far apart even when
-- a send was slow. Returns the ids settled.
-- $1 ids bigint[], $2 leases timestamptz[], $3 statuses text[], $4 delays float8[],
-- $5 refunds int[], $6 errors text[], $7 chat_interval_seconds float8 (0: no pacing)
WITH settled AS (
    UPDATE notifications AS n
    SET status = r.status,
        leased_until = NULL,
        due_at = CASE WHEN r.status = 'pending' THEN now() + make_interval(secs => r.delay)
                      ELSE n.due_at END,
        sent_at = CASE WHEN r.status = 'sent' THEN now() END,
        attempts = greatest(0, n.attempts - r.refund),
        last_error = coalesce(r.error, n.last_error)
    FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::float8[], $5::int[],
                $6::text[]) AS r (id, lease, status, delay, refund, error)
    WHERE n.id = r.id AND n.status = 'sending' AND n.leased_until = r.lease
    RETURNING n.id, n.chat_id
),
paced AS (
    INSERT INTO chat_pace AS p (chat_id, next_at)
    SELECT DISTINCT s.chat_id, now() + make_interval(secs => $7::float8)
    FROM settled AS s
    WHERE $7::float8 > 0
    ON CONFLICT (chat_id) DO UPDATE
    SET next_at = greatest(p.next_at, excluded.next_at)
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
