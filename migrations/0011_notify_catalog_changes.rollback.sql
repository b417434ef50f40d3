DROP TRIGGER closures_notify ON closures;
DROP TRIGGER time_off_notify ON time_off;
DROP TRIGGER doctor_hours_notify ON doctor_hours;
DROP TRIGGER doctors_notify ON doctors;
DROP TRIGGER specializations_notify ON specializations;
DROP FUNCTION notify_catalog_changed();
