-- A booking with its doctor's card: what the API and the bot show of a booking. The
-- booking queries read it, so its column list is written once, here.
-- depends: 0004_lease_processed_updates

CREATE VIEW booking_cards AS
SELECT b.id, b.user_id, b.doctor_id, b.status, b.starts_at, b.ends_at, b.created_at,
       b.cancelled_at, d.last_name, d.first_name, d.middle_name, d.title, d.specialization,
       d.photo
FROM bookings AS b
JOIN doctor_cards AS d ON d.id = b.doctor_id;
