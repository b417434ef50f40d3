DROP VIEW booking_cards;
CREATE VIEW booking_cards AS
SELECT b.id, b.user_id, b.doctor_id, b.status, b.starts_at, b.ends_at, b.created_at,
       b.cancelled_at, d.last_name, d.first_name, d.middle_name, d.title, d.specialization,
       d.photo
FROM bookings AS b
JOIN doctor_cards AS d ON d.id = b.doctor_id;
DROP FUNCTION booking_day_open(integer, date);
DROP FUNCTION schedule_lock_key(integer, date);
DROP INDEX bookings_doctor_starts_idx;
DELETE FROM notifications WHERE kind = 'cancelled_by_clinic';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_known;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_known CHECK (
    kind IN ('confirmation', '24h', '6h', '30m'));
DROP TABLE staff_actions;
DROP TABLE closures;
DROP TABLE time_off;
DELETE FROM bookings WHERE user_id IS NULL;
ALTER TABLE bookings DROP CONSTRAINT bookings_patient_no_overlap;
ALTER TABLE bookings ADD CONSTRAINT bookings_patient_no_overlap EXCLUDE USING gist (
    int8range(user_id, user_id, '[]') WITH &&,
    tstzrange(starts_at, ends_at) WITH &&) WHERE (status = 'confirmed');
ALTER TABLE bookings
    DROP CONSTRAINT bookings_cancelled_by_only_cancelled,
    DROP CONSTRAINT bookings_cancelled_by_known,
    DROP CONSTRAINT bookings_attendance_at_iff_attendance,
    DROP CONSTRAINT bookings_attendance_known,
    DROP CONSTRAINT bookings_patient_known,
    DROP CONSTRAINT bookings_source_known,
    DROP COLUMN cancel_reason,
    DROP COLUMN cancelled_by,
    DROP COLUMN patient_confirmed_at,
    DROP COLUMN attendance_at,
    DROP COLUMN attendance,
    DROP COLUMN phone,
    DROP COLUMN patient_name,
    DROP COLUMN source,
    ALTER COLUMN user_id SET NOT NULL;
DROP TABLE staff;
