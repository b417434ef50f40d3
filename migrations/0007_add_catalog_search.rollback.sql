DROP INDEX doctors_search_idx;
DROP INDEX specializations_search_idx;
ALTER TABLE doctors DROP COLUMN search;
ALTER TABLE specializations DROP COLUMN search;
ALTER TABLE specializations DROP CONSTRAINT specializations_keywords_no_nulls;
ALTER TABLE specializations DROP COLUMN keywords;
DROP FUNCTION search_words(text[]);
