-- Users: the Telegram users who opened the MiniApp or wrote to the bot.

-- name: upsert_user
-- Registers a Telegram user or refreshes their names; writes nothing when nothing changed.
-- An unchanged user is found by the read in `same`, and the INSERT then has no row: no
-- row lock (ON CONFLICT DO UPDATE locks the row even when its WHERE says no), so no
-- transaction id and no WAL flush at commit for a user seen again.
-- $1 telegram_id bigint, $2 first_name text, $3 last_name text, $4 username text,
-- $5 language_code text, $6 is_premium boolean
WITH same AS (
    SELECT 1
    FROM users AS u
    WHERE u.telegram_id = $1::bigint
      AND (u.first_name, u.last_name, u.username, u.language_code, u.is_premium)
          IS NOT DISTINCT FROM ($2::text, $3::text, $4::text, $5::text, $6::boolean)
)
INSERT INTO users (telegram_id, first_name, last_name, username, language_code, is_premium)
SELECT $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::boolean
WHERE NOT EXISTS (SELECT 1 FROM same)
ON CONFLICT (telegram_id) DO UPDATE
SET first_name = excluded.first_name, last_name = excluded.last_name,
    username = excluded.username, language_code = excluded.language_code,
    is_premium = excluded.is_premium, updated_at = now()
WHERE (users.first_name, users.last_name, users.username, users.language_code,
       users.is_premium)
      IS DISTINCT FROM
      (excluded.first_name, excluded.last_name, excluded.username, excluded.language_code,
       excluded.is_premium);

-- name: set_blocked
-- Records that a user blocked the bot ($2 true) or came back ($2 false).
-- $1 telegram_id bigint, $2 blocked boolean
UPDATE users
SET blocked_at = CASE WHEN $2::boolean THEN coalesce(blocked_at, now()) END,
    updated_at = now()
WHERE telegram_id = $1::bigint
  AND (blocked_at IS NOT NULL) IS DISTINCT FROM $2::boolean;
