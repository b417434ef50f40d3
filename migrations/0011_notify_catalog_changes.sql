-- Every replica keeps the catalog's answers in memory (until they change) and weeks of
-- free slots for a second. A change to what they are made from NOTIFYs clinic_catalog,
-- with the table's name, when its transaction commits: every replica drops its copies
-- at once, whether the change came from the staff API, `clinic seed` or plain SQL.
-- Statement triggers: one notification per statement, and PostgreSQL folds repeats
-- within a transaction into one.
CREATE FUNCTION notify_catalog_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('clinic_catalog', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER specializations_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON specializations FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();
CREATE TRIGGER doctors_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON doctors FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();
CREATE TRIGGER doctor_hours_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON doctor_hours FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();
CREATE TRIGGER time_off_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON time_off FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();
CREATE TRIGGER closures_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON closures FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();
