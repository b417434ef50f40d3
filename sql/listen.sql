-- Channels: the NOTIFY that wakes listeners of a channel (clinic/listen.py Notifier).

-- name: notify
-- Wakes whoever LISTENs on channel $1, in a transaction of its own.
-- $1 channel text
SELECT pg_notify($1::text, '');
