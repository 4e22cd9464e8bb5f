-- A thread archives itself after this many minutes without a message (60, 1440, 4320 or
-- 10080); NULL for other channels, and for threads made before it existed (a day). Unarchiving
-- restarts the count: `unarchived_at` is when it last was.
ALTER TABLE channels ADD COLUMN auto_archive_minutes BIGINT;
ALTER TABLE channels ADD COLUMN unarchived_at BIGINT;
