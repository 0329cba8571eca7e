-- An import's answer, kept so that a retry with the same Idempotency-Key gets the first answer
-- (SECURITY.md RE-2) rather than a report that says the file was already imported.
ALTER TABLE case_imports ADD COLUMN report jsonb;
