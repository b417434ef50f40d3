-- Telegram: exactly-once intake of updates.

-- name: claim_update
-- Takes an update_id; no row when it was taken before (a repeat to acknowledge and skip).
-- $1 update_id bigint
INSERT INTO processed_updates (update_id)
VALUES ($1::bigint)
ON CONFLICT (update_id) DO NOTHING
RETURNING update_id;

-- name: purge_updates
-- Forgets update ids taken longer ago than the retention window.
-- $1 retention interval
DELETE FROM processed_updates
WHERE received_at < now() - $1::interval;
