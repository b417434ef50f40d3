DROP INDEX notifications_planned_key;
CREATE UNIQUE INDEX notifications_planned_key ON notifications (booking_id, kind, chat_id)
    WHERE status IN ('pending', 'sending');
