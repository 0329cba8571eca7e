DROP TABLE case_closure_requests;
ALTER TABLE panels DROP COLUMN closure_requires_approval;
