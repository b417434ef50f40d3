DROP VIEW booking_cards;
CREATE VIEW booking_cards AS
SELECT b.id, b.user_id, b.doctor_id, b.status, b.starts_at, b.ends_at, b.created_at,
       b.cancelled_at, d.last_name, d.first_name, d.middle_name, d.title, d.specialization,
       d.photo, b.source, b.patient_name, b.phone, b.attendance, b.attendance_at,
       b.patient_confirmed_at, b.cancelled_by, b.cancel_reason
FROM bookings AS b
JOIN doctor_cards AS d ON d.id = b.doctor_id;
DROP FUNCTION waitlist_room(bigint, date, integer);
DROP FUNCTION patient_may_book(bigint, timestamptz, integer);
DROP TABLE chat_cards;
DROP INDEX notifications_offer_key;
DROP INDEX notifications_planned_key;
DELETE FROM notifications WHERE booking_id IS NULL
    OR kind NOT IN ('confirmation', '24h', '6h', '30m', 'cancelled_by_clinic');
DELETE FROM notifications AS n USING notifications AS m
    WHERE n.booking_id = m.booking_id AND n.kind = m.kind AND n.id < m.id;
ALTER TABLE notifications
    DROP CONSTRAINT notifications_offer_shape,
    DROP CONSTRAINT notifications_one_subject,
    DROP CONSTRAINT notifications_kind_known,
    DROP CONSTRAINT notifications_waitlist_fkey,
    DROP COLUMN message_id,
    DROP COLUMN slot_at,
    DROP COLUMN waitlist_id,
    ALTER COLUMN booking_id SET NOT NULL,
    ADD CONSTRAINT notifications_kind_known CHECK (
        kind IN ('confirmation', '24h', '6h', '30m', 'cancelled_by_clinic')),
    ADD CONSTRAINT notifications_booking_kind_key UNIQUE (booking_id, kind);
ALTER TABLE bookings DROP COLUMN revision;
DROP TABLE waitlist;
