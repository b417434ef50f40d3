-- Health: what readiness asks of the database.

-- name: ping
-- Answers when the database takes queries (readiness; a quiet LISTEN connection).
SELECT 1;
