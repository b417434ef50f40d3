-- A message being sent has its text fixed; only a pending one is rendered from the
-- booking as it is when claimed. So at most one *pending* message of a kind per booking
-- and chat: planning again coalesces with a pending one, but one in flight (about to
-- be settled as sent, and to become a card the next notice strips) no longer keeps a
-- move from planning its reminders, nor a second move from telling its new time.
DROP INDEX notifications_planned_key;
CREATE UNIQUE INDEX notifications_planned_key ON notifications (booking_id, kind, chat_id)
    WHERE status = 'pending';
