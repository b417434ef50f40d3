-- Health: what readiness asks of the database.

-- name: ping
-- Answers when the database takes queries.
SELECT 1;
