-- Participants change over a case's life (issue 13): a newborn child, a second perpetrator, an
-- associate are added; someone who leaves the household is ended with a reason, never deleted,
-- so the record of who was on the case stays.
ALTER TABLE case_participants
    ADD COLUMN added_by uuid REFERENCES users (id),
    ADD COLUMN added_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN ended_by uuid REFERENCES users (id),
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN ended_reason text CHECK (char_length(ended_reason) BETWEEN 1 AND 2000),
    ADD CONSTRAINT case_participants_ended_check
        CHECK ((ended_at IS NULL) = (ended_reason IS NULL) AND (ended_at IS NULL) = (ended_by IS NULL));
