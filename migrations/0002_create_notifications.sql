-- Reminders: one row per message to send for a booking, and the shared pacing state
-- that keeps every dispatcher replica of the bot under Telegram's limits together.
-- depends: 0001_create_schema

CREATE TABLE notifications (
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    booking_id    bigint      NOT NULL,
    chat_id       bigint      NOT NULL,
    kind          text        NOT NULL,
    due_at        timestamptz NOT NULL,
    status        text        NOT NULL DEFAULT 'pending',
    attempts      integer     NOT NULL DEFAULT 0,
    leased_until  timestamptz,
    last_error    text,
    sent_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_pkey PRIMARY KEY (id),
    CONSTRAINT notifications_booking_fkey FOREIGN KEY (booking_id)
        REFERENCES bookings (id) ON DELETE CASCADE,
    CONSTRAINT notifications_booking_kind_key UNIQUE (booking_id, kind),
    CONSTRAINT notifications_kind_known CHECK (kind IN ('confirmation', '24h', '6h', '30m')),
    CONSTRAINT notifications_status_known CHECK (
        status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    CONSTRAINT notifications_attempts_not_negative CHECK (attempts >= 0),
    -- A lease exists exactly while a dispatcher holds the row.
    CONSTRAINT notifications_leased_iff_sending CHECK (
        (status = 'sending') = (leased_until IS NOT NULL)),
    CONSTRAINT notifications_sent_at_iff_sent CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

-- The claim: pending rows in due order; leases of crashed dispatchers in expiry order.
CREATE INDEX notifications_pending_due_idx ON notifications (due_at) WHERE status = 'pending';
CREATE INDEX notifications_sending_lease_idx ON notifications (leased_until)
    WHERE status = 'sending';
-- A user who blocked the bot: their other pending rows are cancelled.
CREATE INDEX notifications_chat_pending_idx ON notifications (chat_id) WHERE status = 'pending';
-- The purge of old sent and cancelled rows.
CREATE INDEX notifications_done_due_idx ON notifications (due_at)
    WHERE status IN ('sent', 'cancelled');

-- The bot's global send budget, one row shared by all replicas: a token bucket kept as
-- the instant up to which sends are paid for (GCRA). `granted` is the size of the last
-- grant, so the statement that takes tokens can return it.
CREATE TABLE send_pace (
    id          smallint    NOT NULL,
    paid_until  timestamptz NOT NULL,
    granted     integer     NOT NULL DEFAULT 0,
    CONSTRAINT send_pace_pkey PRIMARY KEY (id),
    CONSTRAINT send_pace_one_row CHECK (id = 1),
    CONSTRAINT send_pace_granted_not_negative CHECK (granted >= 0)
);

-- Per chat: no message before next_at (Telegram allows about one a second per chat).
CREATE TABLE chat_pace (
    chat_id  bigint      NOT NULL,
    next_at  timestamptz NOT NULL,
    CONSTRAINT chat_pace_pkey PRIMARY KEY (chat_id)
);
