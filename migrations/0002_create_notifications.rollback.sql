DROP TABLE chat_pace;
DROP TABLE send_pace;
DROP TABLE notifications;
