ALTER TABLE case_participants DROP COLUMN added_by, DROP COLUMN added_at, DROP COLUMN ended_by,
    DROP COLUMN ended_at, DROP COLUMN ended_reason;
