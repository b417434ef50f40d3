-- Telegram: taking each update at most once, and losing none that was only queued. A
-- claim is a lease; handling starts with a committed mark; an update whose taker died
-- before starting it is taken over when the lease lapses, one that had started is not.

-- name: claim_update
-- Takes an update: a new id, or one whose taker let the lease lapse without starting it.
-- For a repeat, says whether it is settled (started before: acknowledge, skip) or still
-- leased and waiting elsewhere (busy).
-- $1 update_id bigint, $2 payload text (the update's JSON), $3 lease interval
WITH taken AS (
    INSERT INTO processed_updates (update_id, payload, leased_until)
    VALUES ($1::bigint, $2::text::jsonb, now() + $3::interval)
    ON CONFLICT (update_id) DO UPDATE
    SET leased_until = excluded.leased_until
    WHERE processed_updates.started_at IS NULL AND processed_updates.leased_until < now()
    RETURNING update_id
)
SELECT EXISTS (SELECT 1 FROM taken) AS taken,
       (SELECT p.started_at IS NOT NULL
        FROM processed_updates AS p
        WHERE p.update_id = $1::bigint) AS done;

-- name: start_update
-- Marks a taken update as being handled, before anything is sent; no row when another
-- replica took it over and started first.
-- $1 update_id bigint
UPDATE processed_updates
SET started_at = now()
WHERE update_id = $1::bigint AND started_at IS NULL
RETURNING update_id;

-- name: finish_update
-- Marks a taken update handled; its payload is no longer needed.
-- $1 update_id bigint
UPDATE processed_updates
SET done_at = now(), payload = NULL
WHERE update_id = $1::bigint;

-- name: claim_lapsed_updates
-- Takes over updates never started whose lease ran out (their taker died), oldest first.
-- $1 lease interval, $2 max_rows int
WITH lapsed AS (
    SELECT update_id
    FROM processed_updates
    WHERE started_at IS NULL AND leased_until < now()
    ORDER BY update_id
    LIMIT $2::int
    FOR UPDATE SKIP LOCKED
)
UPDATE processed_updates AS p
SET leased_until = now() + $1::interval
FROM lapsed
WHERE p.update_id = lapsed.update_id
RETURNING p.update_id, p.payload::text AS payload;

-- name: purge_updates
-- Forgets update ids taken longer ago than the retention window.
-- $1 retention interval
DELETE FROM processed_updates
WHERE received_at < now() - $1::interval;
