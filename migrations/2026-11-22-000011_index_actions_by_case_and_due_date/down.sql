DROP INDEX actions_case_due_idx;
