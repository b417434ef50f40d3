DROP VIEW doctor_cards;
DROP TABLE bookings;
DROP TABLE doctor_hours;
DROP TABLE doctors;
DROP TABLE specializations;
DROP TABLE users;
