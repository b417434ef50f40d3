DROP INDEX processed_updates_unfinished_idx;
ALTER TABLE processed_updates
    DROP COLUMN done_at,
    DROP COLUMN started_at,
    DROP COLUMN leased_until,
    DROP COLUMN payload;
