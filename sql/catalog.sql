-- Catalog: specializations and doctors, read by the API and the bot; written by `clinic seed`.

-- name: list_specializations
-- Specializations with their doctor counts, by name. $1 keeps those whose name holds it,
-- ignoring case and the difference between ё and е; NULL keeps all.
-- $1 q text
SELECT s.id, s.slug, s.name, s.description, s.icon, count(d.id)::int AS doctor_count
FROM specializations AS s
LEFT JOIN doctors AS d ON d.specialization_id = s.id
WHERE $1::text IS NULL
   OR strpos(translate(lower(s.name), 'ё', 'е'), translate(lower($1::text), 'ё', 'е')) > 0
GROUP BY s.id
ORDER BY s.name;

-- name: get_specialization
-- One specialization with its doctor count; no row when absent.
-- $1 specialization_id int
SELECT s.id, s.slug, s.name, s.description, s.icon,
       (SELECT count(*) FROM doctors AS d WHERE d.specialization_id = s.id)::int AS doctor_count
FROM specializations AS s
WHERE s.id = $1::int;

-- name: list_doctors
-- The doctors of one specialization, by surname.
-- $1 specialization_id int
SELECT id, specialization_id, specialization, last_name, first_name, middle_name, title,
       experience_years, description, photo
FROM doctor_cards
WHERE specialization_id = $1::int
ORDER BY last_name, first_name, id;

-- name: get_doctor
-- One doctor; no row when absent.
-- $1 doctor_id int
SELECT id, specialization_id, specialization, last_name, first_name, middle_name, title,
       experience_years, description, photo
FROM doctor_cards
WHERE id = $1::int;

-- Search (GET /api/search). What a patient typed becomes one text-search query per word,
-- in two strengths, and each list is matched against the `search` vectors of migration
-- 0007 with them. A result that matches more of the words wins, and only those that
-- match the most words are kept: every word when anything has them all ("боль в груди"),
-- else as many as any result has ("сильный кашель" still finds the cough, "кашель").

-- name: search_terms
-- The text-search queries (tsquery text) for a patient's words, one per word, and one
-- for any of them. Words are split on anything but letters and digits, lower-cased, ё
-- read as е, and stemmed by the Russian configuration, whose stop words ("в", "на",
-- "у"...) are dropped unless they are all there is ("Со" still finds Соколов). `exact`
-- wants the stem as a word; `loose` also takes words that begin with it (a word still
-- being typed, another form of it: "стомато" finds Стоматология). A stem shorter than 4
-- letters is too short to begin other words with ("уз" of УЗИ would find "узкий"), so
-- there `loose` is the stem or what was typed, as a beginning. NULLs when no word is left.
-- Words hold letters and digits only, so a quoted lexeme never needs escaping.
-- $1 q text
WITH words AS (
    SELECT w.word, w.n
    FROM regexp_split_to_table(translate(lower($1::text), 'ё', 'е'), '[^[:alnum:]]+')
         WITH ORDINALITY AS w (word, n)
    WHERE w.word <> ''
),
stems AS (
    SELECT words.n, words.word, t.lexeme
    FROM words CROSS JOIN LATERAL unnest(to_tsvector('russian', words.word)) AS t
),
terms AS (
    SELECT n, word, lexeme FROM stems
    UNION ALL
    SELECT n, word, word FROM words WHERE NOT EXISTS (SELECT FROM stems)
),
per_word AS (
    SELECT n,
           string_agg(quote_literal(lexeme), ' & ') AS exact,
           string_agg(CASE WHEN length(lexeme) >= 4 OR lexeme = word
                           THEN quote_literal(lexeme) || ':*'
                           ELSE '(' || quote_literal(lexeme) || ' | ' || quote_literal(word) || ':*)'
                      END, ' & ') AS loose
    FROM terms
    GROUP BY n
)
SELECT array_agg(exact ORDER BY n) AS exact,
       array_agg(loose ORDER BY n) AS loose,
       string_agg('(' || loose || ')', ' | ' ORDER BY n) AS any_word
FROM per_word;

-- name: search_specializations
-- Specializations whose name, keywords or description match the most words, with their
-- doctor counts: more words matched as whole words first, then by rank (a name counts
-- most, then a keyword, then the description), then by name.
-- $1 exact text[] (a tsquery per word), $2 loose text[] (a tsquery per word),
-- $3 any_word text (tsquery), $4 max_rows int
WITH found AS (
    SELECT s.id, s.slug, s.name, s.description, s.icon, m.matched, m.whole, m.rank
    FROM specializations AS s
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE s.search @@ w.loose) AS matched,
               count(*) FILTER (WHERE s.search @@ w.exact) AS whole,
               sum(ts_rank(s.search, w.loose)) AS rank
        FROM unnest($1::text[]::tsquery[], $2::text[]::tsquery[]) AS w (exact, loose)
    ) AS m
    WHERE s.search @@ $3::text::tsquery
)
SELECT f.id, f.slug, f.name, f.description, f.icon,
       (SELECT count(*) FROM doctors AS d WHERE d.specialization_id = f.id)::int AS doctor_count
FROM found AS f
WHERE f.matched = (SELECT max(matched) FROM found)
ORDER BY f.whole DESC, f.rank DESC, f.name, f.id
LIMIT $4::int;

-- name: search_doctors
-- Doctors whose own name, title and description, or else whose specialization, match
-- the most words ("Иванова" finds the one doctor, "зубы" the dentists): more words
-- matched as whole words first, then by rank (their own words count more than their
-- specialization's), then by surname.
-- $1 exact text[] (a tsquery per word), $2 loose text[] (a tsquery per word),
-- $3 any_word text (tsquery), $4 max_rows int
WITH found AS (
    SELECT d.id, greatest(m.own, m.via) AS matched, greatest(m.own_whole, m.via_whole) AS whole,
           m.rank
    FROM doctors AS d
    JOIN specializations AS s ON s.id = d.specialization_id
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE d.search @@ w.loose) AS own,
               count(*) FILTER (WHERE s.search @@ w.loose) AS via,
               count(*) FILTER (WHERE d.search @@ w.exact) AS own_whole,
               count(*) FILTER (WHERE s.search @@ w.exact) AS via_whole,
               sum(ts_rank(d.search || setweight(s.search, 'D'), w.loose)) AS rank
        FROM unnest($1::text[]::tsquery[], $2::text[]::tsquery[]) AS w (exact, loose)
    ) AS m
    WHERE d.search @@ $3::text::tsquery OR s.search @@ $3::text::tsquery
)
SELECT c.id, c.specialization_id, c.specialization, c.last_name, c.first_name,
       c.middle_name, c.title, c.experience_years, c.description, c.photo
FROM found AS f
JOIN doctor_cards AS c ON c.id = f.id
WHERE f.matched = (SELECT max(matched) FROM found)
ORDER BY f.whole DESC, f.rank DESC, c.last_name, c.first_name, c.id
LIMIT $4::int;

-- name: upsert_specialization
-- Inserts a specialization or brings it up to date, by slug; returns its id.
-- $1 slug text, $2 name text, $3 description text, $4 icon text, $5 keywords text[]
INSERT INTO specializations (slug, name, description, icon, keywords)
VALUES ($1::text, $2::text, $3::text, $4::text, $5::text[])
ON CONFLICT (slug) DO UPDATE
SET name = excluded.name, description = excluded.description, icon = excluded.icon,
    keywords = excluded.keywords
RETURNING id;

-- name: upsert_doctor
-- Inserts a doctor or brings them up to date, by slug; returns the id.
-- $1 slug text, $2 specialization_id int, $3 last_name text, $4 first_name text,
-- $5 middle_name text, $6 title text, $7 experience_years int, $8 description text, $9 photo text
INSERT INTO doctors (slug, specialization_id, last_name, first_name, middle_name, title,
                     experience_years, description, photo)
VALUES ($1::text, $2::int, $3::text, $4::text, $5::text, $6::text, $7::int, $8::text, $9::text)
ON CONFLICT (slug) DO UPDATE
SET specialization_id = excluded.specialization_id, last_name = excluded.last_name,
    first_name = excluded.first_name, middle_name = excluded.middle_name,
    title = excluded.title, experience_years = excluded.experience_years,
    description = excluded.description, photo = excluded.photo
RETURNING id;

-- name: delete_doctor_hours
-- Removes a doctor's own weekly hours (they then work the clinic's default week).
-- $1 doctor_id int
DELETE FROM doctor_hours WHERE doctor_id = $1::int;

-- name: insert_doctor_hours
-- Sets a doctor's own weekly hours, one row per weekday, from three parallel arrays.
-- $1 doctor_id int, $2 weekdays smallint[], $3 starts time[], $4 ends time[]
INSERT INTO doctor_hours (doctor_id, weekday, starts, ends)
SELECT $1::int, h.weekday, h.starts, h.ends
FROM unnest($2::smallint[], $3::time[], $4::time[]) AS h (weekday, starts, ends);
