-- Retention as data, erasure as a job (issue 15, DP-2; UK GDPR Art. 5(1)(e)).

-- The information-governance role (a data protection officer or records manager), per panel.
ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_check CHECK (role IN
    ('system_admin', 'coordinator', 'chair', 'agency_rep', 'idva', 'manager', 'auditor', 'information_governance'));
ALTER TABLE user_roles DROP CONSTRAINT user_roles_scope_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_scope_check CHECK (
    (role = 'system_admin' AND panel_id IS NULL)
    OR (role IN ('coordinator', 'chair', 'agency_rep', 'idva', 'manager', 'information_governance')
        AND panel_id IS NOT NULL)
    OR role = 'auditor');

-- How long a case is kept after it ended, per kind of panel, and a panel's own period.
CREATE TABLE retention_policies (
    panel_kind text PRIMARY KEY CHECK (panel_kind IN ('marac', 'cmarac', 'jag')),
    years_after_end integer NOT NULL CHECK (years_after_end BETWEEN 1 AND 100),
    version integer NOT NULL DEFAULT 1,
    updated_by uuid REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO retention_policies (panel_kind, years_after_end) VALUES ('marac', 6), ('cmarac', 6), ('jag', 6);
CREATE TABLE panel_retention (
    panel_id uuid PRIMARY KEY REFERENCES panels (id),
    years_after_end integer NOT NULL CHECK (years_after_end BETWEEN 1 AND 100),
    updated_by uuid NOT NULL REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A legal hold stops erasure until it is lifted.
CREATE TABLE legal_holds (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    placed_by uuid NOT NULL REFERENCES users (id),
    placed_at timestamptz NOT NULL DEFAULT now(),
    lifted_by uuid REFERENCES users (id),
    lifted_at timestamptz,
    CHECK ((lifted_by IS NULL) = (lifted_at IS NULL))
);
CREATE UNIQUE INDEX legal_holds_one_open ON legal_holds (case_id) WHERE lifted_at IS NULL;

-- A decision to share without consent (DP-1), its own record on the case: who decided, when,
-- why, on what lawful basis, and with which organisations.
CREATE TABLE share_decisions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    decided_by text NOT NULL CHECK (char_length(decided_by) BETWEEN 1 AND 200),
    decided_on date NOT NULL,
    reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 5000),
    lawful_basis text NOT NULL,
    organisation_ids uuid[] NOT NULL CHECK (cardinality(organisation_ids) BETWEEN 1 AND 30
                                            AND array_position(organisation_ids, NULL) IS NULL),
    recorded_by uuid NOT NULL REFERENCES users (id),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX share_decisions_case ON share_decisions (case_id, recorded_at);
GRANT SELECT, INSERT ON share_decisions TO confer_app;

-- Restriction of processing (Art. 18): a restricted case is read only by its panel's staff (and
-- the governance role's records of it) and changed by no one until the restriction is lifted.
ALTER TABLE cases
    ADD COLUMN restricted_at timestamptz,
    ADD COLUMN restricted_by uuid REFERENCES users (id),
    ADD COLUMN restriction_reason text CHECK (char_length(restriction_reason) <= 2000),
    ADD CONSTRAINT cases_restriction_check CHECK ((restricted_at IS NULL) = (restricted_by IS NULL));

-- The log of data-subject rights requests a governance officer works through (Art. 15-18, 21):
-- received, decided, closed, with the one-month deadline extended by up to two months.
CREATE TABLE rights_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    panel_id uuid NOT NULL REFERENCES panels (id),
    kind text NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'restriction', 'objection')),
    person_id uuid REFERENCES people (id),
    case_id uuid REFERENCES cases (id),
    received_on date NOT NULL,
    identity_check text NOT NULL CHECK (char_length(identity_check) BETWEEN 1 AND 500),
    summary text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 5000),
    extended_reason text CHECK (char_length(extended_reason) <= 2000),
    decision text CHECK (decision IN ('granted', 'partly_granted', 'refused')),
    decision_reason text CHECK (char_length(decision_reason) <= 5000),
    closed_on date CHECK (closed_on >= received_on),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    CHECK (closed_on IS NULL OR decision IS NOT NULL)
);
CREATE INDEX rights_requests_panel ON rights_requests (panel_id, received_on, id);
GRANT SELECT, INSERT, UPDATE ON rights_requests TO confer_app;

-- An erased case keeps a stub: panel, dates, status and codes, so every figure of a past period
-- is the same after erasure. Ages are kept as numbers on the participation, not as dates of birth.
ALTER TABLE cases ADD COLUMN erased_at timestamptz;
ALTER TABLE case_participants ADD COLUMN age_at_referral integer;

-- When each ended case's retention runs out: its end (closure, or the last change of status for a
-- case rejected, withdrawn or transferred out) plus the panel's period, else its kind's.
CREATE VIEW case_retention AS
SELECT c.id AS case_id, c.panel_id,
       (coalesce(c.closed_on,
                 (SELECT max((h.changed_at AT TIME ZONE 'Europe/London')::date)
                    FROM case_status_history h WHERE h.case_id = c.id))
        + make_interval(years => coalesce(pr.years_after_end, rp.years_after_end)))::date AS ends_on,
       EXISTS (SELECT 1 FROM legal_holds lh WHERE lh.case_id = c.id AND lh.lifted_at IS NULL) AS on_hold,
       c.erased_at
  FROM cases c
  JOIN panels p ON p.id = c.panel_id
  JOIN retention_policies rp ON rp.panel_kind = p.kind
  LEFT JOIN panel_retention pr ON pr.panel_id = c.panel_id
 WHERE c.status IN ('closed', 'rejected', 'withdrawn', 'transferred_out');

-- Erases one case whose retention ran out by `p_today`, irreversibly: its free text, tagged
-- values, history values and notes, and the people on no case still kept. Runs as the owner of
-- the tables, which the runtime role cannot otherwise change (history is append-only to it).
-- Returns the people erased; raises if the case is not due (held, not ended, not expired, or
-- erased already), so a caller cannot erase by mistake what the schedule keeps.
CREATE FUNCTION erase_case(p_case uuid, p_today date) RETURNS uuid[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r record;
    gone uuid[];
BEGIN
    SELECT * INTO r FROM case_retention WHERE case_id = p_case;
    IF r IS NULL OR r.erased_at IS NOT NULL OR r.on_hold OR r.ends_on > p_today THEN
        RAISE EXCEPTION 'case % is not due for erasure', p_case USING ERRCODE = 'P0001';
    END IF;
    PERFORM 1 FROM cases WHERE id = p_case FOR UPDATE;

    -- Ages at referral stay as numbers (the figures count 16–17-year-olds), dates of birth go.
    UPDATE case_participants cp
       SET age_at_referral = date_part('year', age(c.referral_date, pe.date_of_birth))::int,
           ended_reason = NULL, relationship_to_victim = NULL, relationship_to_perpetrator = NULL
      FROM cases c, people pe
     WHERE cp.case_id = p_case AND c.id = cp.case_id AND pe.id = cp.person_id;

    UPDATE rights_requests SET summary = '[erased]', decision_reason = NULL, identity_check = '[erased]'
     WHERE case_id = p_case;
    UPDATE cases SET restriction_reason = NULL WHERE id = p_case;
    UPDATE cases SET professional_judgement_reason = CASE WHEN professional_judgement THEN '[erased]' END,
                     vulnerability_other_text = NULL, issue_other_text = NULL,
                     non_consent_reason = CASE WHEN non_consent_reason IS NOT NULL THEN '[erased]' END,
                     summary = NULL, rejection_reason = CASE WHEN rejection_reason IS NOT NULL THEN '[erased]' END,
                     closure_reason = CASE WHEN closure_reason IS NOT NULL THEN '[erased]' END,
                     safety_plan = NULL, erased_at = now()
     WHERE id = p_case;
    DELETE FROM case_field_changes WHERE case_id = p_case;
    UPDATE case_status_history SET reason = NULL WHERE case_id = p_case;
    UPDATE risk_assessments SET answers = NULL, breakdown = NULL WHERE case_id = p_case;
    UPDATE research_notes SET body = '[erased]' WHERE case_id = p_case;
    UPDATE actions SET description = '[erased]', outcome_note = NULL WHERE case_id = p_case;
    UPDATE action_updates SET note = '[erased]' WHERE action_id IN (SELECT id FROM actions WHERE case_id = p_case);
    UPDATE discussion_notes SET shared_information = NULL, risk_summary = NULL, decisions = NULL
     WHERE agenda_item_id IN (SELECT id FROM agenda_items WHERE case_id = p_case);
    UPDATE case_closure_requests SET reason = '[erased]', decision_reason = NULL WHERE case_id = p_case;
    UPDATE case_exclusions SET reason = '[erased]' WHERE case_id = p_case;
    UPDATE case_grants SET reason = '[erased]' WHERE case_id = p_case;
    UPDATE case_transfers SET reason = '[erased]', idva_handover_to = NULL, other_reference = NULL WHERE case_id = p_case;
    UPDATE data_quality_flags SET detail = NULL WHERE case_id = p_case;
    UPDATE share_decisions SET decided_by = '[erased]', reason = '[erased]' WHERE case_id = p_case;
    UPDATE alerts SET reason = '[erased]' WHERE case_id = p_case;
    UPDATE case_links SET reason = '[erased]' WHERE location_case_id = p_case OR person_case_id = p_case;
    UPDATE interventions SET notes = NULL, court_reference = NULL WHERE case_id = p_case;
    UPDATE location_cases SET scan = NULL, analysis = NULL, response = NULL, assessment = NULL WHERE case_id = p_case;
    UPDATE community_triggers SET summary = '[erased]', recommendations = NULL WHERE case_id = p_case;
    UPDATE locations SET description = NULL, address = NULL
     WHERE id = (SELECT location_id FROM cases WHERE id = p_case);
    -- An import's report keeps what it could not match; the case's lines lose it.
    UPDATE case_imports ci
       SET report = jsonb_set(ci.report::jsonb, '{lines}', (
             SELECT coalesce(jsonb_agg(CASE WHEN l->>'reference' = c.reference THEN l - 'kept_as_other' ELSE l END
                                       ORDER BY n), '[]'::jsonb)
               FROM jsonb_array_elements(ci.report::jsonb -> 'lines') WITH ORDINALITY AS t(l, n)))
      FROM cases c
     WHERE c.id = p_case AND ci.panel_id = c.panel_id;

    -- People on no case that is kept: every identifying value goes; the coded values the figures
    -- count (gender, ethnicity group flags, disability, LGBT) stay. Their rows are locked first,
    -- so a job erasing another of their cases at the same time waits and then sees it erased.
    PERFORM 1 FROM people WHERE id IN (SELECT person_id FROM case_participants WHERE case_id = p_case)
      ORDER BY id FOR UPDATE;
    SELECT coalesce(array_agg(pe.id), '{}') INTO gone
      FROM people pe
     WHERE pe.id IN (SELECT person_id FROM case_participants WHERE case_id = p_case)
       AND NOT EXISTS (SELECT 1 FROM case_participants cp JOIN cases c ON c.id = cp.case_id
                        WHERE cp.person_id = pe.id AND c.erased_at IS NULL);
    UPDATE people SET surname = '[erased]', forenames = '', aliases = '{}', normalized_name = '',
                      date_of_birth = NULL, ethnicity = NULL, address_kind = NULL, address = NULL, postcode = NULL,
                      safe_to_contact = NULL, safe_contact_details = NULL, notes = NULL, health_notes = NULL,
                      criminal_history = NULL, school = NULL, language = NULL, interpreter_needed = NULL,
                      gp_practice = NULL
     WHERE id = ANY (gone);
    DELETE FROM person_field_changes WHERE person_id = ANY (gone);
    DELETE FROM person_dates_of_birth WHERE person_id = ANY (gone);
    DELETE FROM person_addresses WHERE person_id = ANY (gone);
    RETURN gone;
END;
$$;
REVOKE ALL ON FUNCTION erase_case(uuid, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_case(uuid, date) TO confer_app;

GRANT SELECT ON case_retention TO confer_app;
GRANT SELECT, INSERT, UPDATE ON retention_policies TO confer_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON panel_retention TO confer_app;
GRANT SELECT, INSERT, UPDATE (lifted_by, lifted_at) ON legal_holds TO confer_app;
