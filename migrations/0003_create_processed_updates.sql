-- Telegram updates already taken, so a repeated update_id (a webhook retry, two
-- replicas, a restart during long polling) is processed once. Rows older than the
-- retention window are purged by the app.
CREATE TABLE processed_updates (
    update_id    bigint      NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT processed_updates_pkey PRIMARY KEY (update_id)
);

CREATE INDEX processed_updates_received_at_idx ON processed_updates (received_at);
