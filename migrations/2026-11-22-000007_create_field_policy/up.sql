-- The field-level policy (SECURITY.md §2.4) as data: which subject (an agency type, for agency
-- reps and IDVAs, or a panel role) may read or write each sensitivity tag. Anything not listed is
-- `none`. Seeded with the illustrative default of SECURITY.md; cells marked G there (none unless a
-- per-case grant is recorded) are `none` here until per-case grants exist. `own` means the
-- subject's own organisation's records only (research notes). The policy version moves with
-- every change, so responses and audit events can name the policy in force.
CREATE TABLE field_policy (
    subject_kind text NOT NULL CHECK (subject_kind IN ('agency_type', 'role')),
    subject      text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 50),
    tag          text NOT NULL CHECK (tag IN ('victim.address', 'victim.safe_contact', 'risk.dash_answers', 'health',
                                              'perpetrator.criminal', 'children', 'safety_plan', 'research_notes')),
    access       text NOT NULL CHECK (access IN ('read', 'write', 'own')),
    PRIMARY KEY (subject_kind, subject, tag)
);

CREATE TABLE field_policy_version (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    version     integer NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  uuid REFERENCES users (id)
);

INSERT INTO field_policy_version (version) VALUES (1);

INSERT INTO field_policy (subject_kind, subject, tag, access) VALUES
    ('agency_type', 'police', 'victim.address', 'read'),
    ('agency_type', 'idva_service', 'victim.address', 'write'),
    ('role', 'coordinator', 'victim.address', 'write'),
    ('agency_type', 'idva_service', 'victim.safe_contact', 'write'),
    ('role', 'coordinator', 'victim.safe_contact', 'write'),
    ('agency_type', 'idva_service', 'risk.dash_answers', 'write'),
    ('role', 'coordinator', 'risk.dash_answers', 'read'),
    ('role', 'chair', 'risk.dash_answers', 'read'),
    ('agency_type', 'idva_service', 'health', 'read'),
    ('agency_type', 'adult_social_care', 'health', 'read'),
    ('agency_type', 'primary_care', 'health', 'write'),
    ('agency_type', 'secondary_care_acute_trust', 'health', 'write'),
    ('agency_type', 'mental_health', 'health', 'write'),
    ('role', 'coordinator', 'health', 'read'),
    ('agency_type', 'police', 'perpetrator.criminal', 'write'),
    ('agency_type', 'probation', 'perpetrator.criminal', 'write'),
    ('agency_type', 'idva_service', 'perpetrator.criminal', 'read'),
    ('role', 'coordinator', 'perpetrator.criminal', 'read'),
    ('role', 'chair', 'perpetrator.criminal', 'read'),
    ('agency_type', 'police', 'children', 'read'),
    ('agency_type', 'idva_service', 'children', 'read'),
    ('agency_type', 'childrens_social_care', 'children', 'write'),
    ('agency_type', 'primary_care', 'children', 'read'),
    ('agency_type', 'secondary_care_acute_trust', 'children', 'read'),
    ('agency_type', 'mental_health', 'children', 'read'),
    ('agency_type', 'education', 'children', 'read'),
    ('role', 'coordinator', 'children', 'read'),
    ('agency_type', 'police', 'safety_plan', 'read'),
    ('agency_type', 'housing_local_authority', 'safety_plan', 'read'),
    ('agency_type', 'housing_registered_provider', 'safety_plan', 'read'),
    ('agency_type', 'homelessness_outreach', 'safety_plan', 'read'),
    ('agency_type', 'idva_service', 'safety_plan', 'write'),
    ('role', 'coordinator', 'safety_plan', 'read'),
    ('agency_type', 'police', 'research_notes', 'own'),
    ('agency_type', 'probation', 'research_notes', 'own'),
    ('agency_type', 'housing_local_authority', 'research_notes', 'own'),
    ('agency_type', 'housing_registered_provider', 'research_notes', 'own'),
    ('agency_type', 'homelessness_outreach', 'research_notes', 'own'),
    ('agency_type', 'idva_service', 'research_notes', 'own'),
    ('agency_type', 'childrens_social_care', 'research_notes', 'own'),
    ('agency_type', 'adult_social_care', 'research_notes', 'own'),
    ('agency_type', 'primary_care', 'research_notes', 'own'),
    ('agency_type', 'secondary_care_acute_trust', 'research_notes', 'own'),
    ('agency_type', 'mental_health', 'research_notes', 'own'),
    ('agency_type', 'education', 'research_notes', 'own');

-- Tagged fields that the cases issue did not hold yet.
ALTER TABLE people ADD COLUMN health_notes text CHECK (char_length(health_notes) <= 10000);
ALTER TABLE people ADD COLUMN criminal_history text CHECK (char_length(criminal_history) <= 10000);
ALTER TABLE people ADD COLUMN school text CHECK (char_length(school) <= 200);
ALTER TABLE cases ADD COLUMN safety_plan text CHECK (char_length(safety_plan) <= 10000);

-- An agency's pre-meeting research: agency-internal (tag research_notes, `own`).
CREATE TABLE research_notes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id     uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    agency_id   uuid NOT NULL REFERENCES agencies (id),
    body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX research_notes_case_agency_idx ON research_notes (case_id, agency_id, created_at);
