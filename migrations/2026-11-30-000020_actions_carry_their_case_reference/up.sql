-- An action list names each action's case by its reference, as people know it (issue 13: lists
-- showed only the case id). Carried on the action like its panel, so a list needs no join; the
-- composite foreign key makes a wrong copy impossible and follows a corrected reference.
ALTER TABLE cases ADD CONSTRAINT cases_id_reference_key UNIQUE (id, reference);
ALTER TABLE actions ADD COLUMN case_reference text;
UPDATE actions x SET case_reference = c.reference FROM cases c WHERE c.id = x.case_id;
ALTER TABLE actions ALTER COLUMN case_reference SET NOT NULL,
    ADD CONSTRAINT actions_case_reference_fkey FOREIGN KEY (case_id, case_reference)
        REFERENCES cases (id, reference) ON UPDATE CASCADE;
