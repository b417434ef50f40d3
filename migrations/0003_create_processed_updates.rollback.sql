DROP TABLE processed_updates;
