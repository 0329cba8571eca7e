-- Panel metrics count a panel's actions due in a period and those overdue now. Found through
-- actions (case_id, due_date), that is one index probe per case the panel ever had: 4,000 probes
-- and 20 ms per statement at 1.2 million cases (bench/). With the panel on the action each count
-- is one range scan over the actions it counts. A case never moves panel (a transfer closes it
-- here and refers it elsewhere), and the composite foreign key makes a wrong copy impossible.
ALTER TABLE cases ADD CONSTRAINT cases_id_panel_key UNIQUE (id, panel_id);
ALTER TABLE actions ADD COLUMN panel_id uuid;
UPDATE actions x SET panel_id = c.panel_id FROM cases c WHERE c.id = x.case_id;
ALTER TABLE actions ALTER COLUMN panel_id SET NOT NULL,
    ADD CONSTRAINT actions_case_panel_fkey FOREIGN KEY (case_id, panel_id) REFERENCES cases (id, panel_id);
CREATE INDEX actions_panel_due_idx ON actions (panel_id, due_date);
CREATE INDEX actions_panel_outstanding_idx ON actions (panel_id, due_date) WHERE status IN ('open', 'in_progress');
