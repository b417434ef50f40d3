-- Catalog search: the words patients use for a specialization (its keywords and
-- symptoms: "зубы", "кариес", "УЗИ", "давление"...) are kept with it, in a text[]
-- column `keywords`, a list of words and short phrases. Each specialization and each
-- doctor gets a generated tsvector `search`, built with PostgreSQL's Russian text
-- search configuration (snowball stemming, Russian stop words; no extension needed)
-- from ё written as е, so that the query stays short and GIN-indexed:
--   specializations: name (weight A), keywords (B), description (C)
--   doctors:         surname, first name, patronymic (A), title (B), description (C)
-- array_to_string is only STABLE (it works on any array type), so a generated column
-- cannot call it; search_words does the same for text[], where it cannot change.
-- depends: 0005_create_booking_cards

CREATE FUNCTION search_words(words text[]) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN array_to_string(words, ' ');

ALTER TABLE specializations
    ADD COLUMN keywords text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT specializations_keywords_no_nulls CHECK (array_position(keywords, NULL) IS NULL);

ALTER TABLE specializations
    ADD COLUMN search tsvector NOT NULL GENERATED ALWAYS AS (
        setweight(to_tsvector('russian'::regconfig, translate(name, 'ёЁ', 'еЕ')), 'A')
        || setweight(to_tsvector('russian'::regconfig, translate(search_words(keywords), 'ёЁ', 'еЕ')), 'B')
        || setweight(to_tsvector('russian'::regconfig, translate(description, 'ёЁ', 'еЕ')), 'C')
    ) STORED;

-- A name is kept stemmed and also as written ('simple'): the stemmer reads "Петров" as
-- 'петр' but "Петрову" as 'петров', so "к Петрову" finds him only through the latter.
ALTER TABLE doctors
    ADD COLUMN search tsvector NOT NULL GENERATED ALWAYS AS (
        setweight(to_tsvector('russian'::regconfig, translate(
            last_name || ' ' || first_name || ' ' || coalesce(middle_name, ''), 'ёЁ', 'еЕ')), 'A')
        || setweight(to_tsvector('simple'::regconfig, translate(
            last_name || ' ' || first_name || ' ' || coalesce(middle_name, ''), 'ёЁ', 'еЕ')), 'A')
        || setweight(to_tsvector('russian'::regconfig, translate(title, 'ёЁ', 'еЕ')), 'B')
        || setweight(to_tsvector('russian'::regconfig, translate(description, 'ёЁ', 'еЕ')), 'C')
    ) STORED;

CREATE INDEX specializations_search_idx ON specializations USING gin (search);
CREATE INDEX doctors_search_idx ON doctors USING gin (search);
