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
