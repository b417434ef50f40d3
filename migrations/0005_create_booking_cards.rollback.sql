DROP VIEW booking_cards;
