-- An update's claim becomes a lease, kept with the update itself. If its taker dies
-- before starting on it (it was queued there), another replica takes it over once the
-- lease lapses (a repeat from Telegram, or the sweep), instead of it being lost. One that
-- had started is not taken over: an update is handled at most once.
ALTER TABLE processed_updates
    ADD COLUMN payload jsonb,
    ADD COLUMN leased_until timestamptz,
    ADD COLUMN started_at timestamptz,
    ADD COLUMN done_at timestamptz;

UPDATE processed_updates SET started_at = received_at, done_at = received_at;

CREATE INDEX processed_updates_unfinished_idx ON processed_updates (leased_until)
    WHERE started_at IS NULL;
