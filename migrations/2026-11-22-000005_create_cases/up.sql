-- People, locations and cases (DOMAIN.md §1, §5-§7). A person is recorded once and linked to
-- cases in a role; a JAG case may have a location as its subject. Case status changes are kept
-- as history, never overwritten; risk assessments are kept, never replaced.

CREATE TABLE people (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    surname               text NOT NULL CHECK (char_length(surname) BETWEEN 1 AND 200),
    forenames             text NOT NULL DEFAULT '' CHECK (char_length(forenames) <= 200),
    aliases               text[] NOT NULL DEFAULT '{}' CHECK (cardinality(aliases) <= 20 AND array_position(aliases, NULL) IS NULL),
    -- lower-case letters and spaces of "forenames surname", for duplicate matching
    normalized_name       text NOT NULL,
    date_of_birth         date,
    gender                text NOT NULL DEFAULT 'unknown' CHECK (gender IN ('female', 'male', 'non_binary', 'other', 'unknown')),
    ethnicity             text CHECK (char_length(ethnicity) <= 200),
    bame                  text NOT NULL DEFAULT 'unknown' CHECK (bame IN ('yes', 'no', 'unknown')),
    disability            text NOT NULL DEFAULT 'unknown' CHECK (disability IN ('yes', 'no', 'unknown')),
    lgbt                  text NOT NULL DEFAULT 'unknown' CHECK (lgbt IN ('yes', 'no', 'unknown')),
    address_kind          text CHECK (address_kind IN ('current', 'refuge', 'temporary')),
    address               text CHECK (char_length(address) <= 500),
    postcode              text CHECK (char_length(postcode) <= 10),
    safe_to_contact       boolean,
    safe_contact_details  text CHECK (char_length(safe_contact_details) <= 2000),
    notes                 text CHECK (char_length(notes) <= 10000),
    -- perpetrators and their associates never receive case information (SECURITY.md AC-4)
    must_not_receive      boolean NOT NULL DEFAULT false,
    created_by            uuid NOT NULL REFERENCES users (id),
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX people_match_idx ON people (normalized_name, date_of_birth);

CREATE TABLE locations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_name    text NOT NULL CHECK (char_length(site_name) BETWEEN 1 AND 200),
    description  text CHECK (char_length(description) <= 2000),
    ward_code    text CHECK (char_length(ward_code) <= 50),
    area_text    text CHECK (char_length(area_text) <= 200),
    locality     text CHECK (char_length(locality) <= 200),
    latitude     double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude    double precision CHECK (longitude BETWEEN -180 AND 180),
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cases (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    panel_id                    uuid NOT NULL REFERENCES panels (id),
    reference                   text NOT NULL CHECK (char_length(reference) BETWEEN 1 AND 50),
    status                      text NOT NULL DEFAULT 'referred' CHECK (status IN
                                    ('referred', 'screening', 'accepted', 'rejected', 'open', 'monitoring',
                                     'closed', 'transferred_out', 'withdrawn')),
    location_id                 uuid REFERENCES locations (id),
    referring_agency_id         uuid NOT NULL REFERENCES agencies (id),
    referring_user_id           uuid REFERENCES users (id),
    referral_date               date NOT NULL,
    visible_high_risk           boolean NOT NULL DEFAULT false,
    professional_judgement      boolean NOT NULL DEFAULT false,
    professional_judgement_reason text CHECK (char_length(professional_judgement_reason) <= 2000),
    potential_escalation        boolean NOT NULL DEFAULT false,
    escalation_incident_count   integer CHECK (escalation_incident_count BETWEEN 0 AND 1000),
    is_repeat                   boolean NOT NULL DEFAULT false,
    repeat_of_case_id           uuid REFERENCES cases (id),
    ward_code                   text CHECK (char_length(ward_code) <= 50),
    area_text                   text CHECK (char_length(area_text) <= 200),
    vulnerabilities             text[] NOT NULL DEFAULT '{}' CHECK (array_position(vulnerabilities, NULL) IS NULL),
    vulnerability_other_text    text CHECK (char_length(vulnerability_other_text) <= 500),
    issue_categories            text[] NOT NULL DEFAULT '{}' CHECK (array_position(issue_categories, NULL) IS NULL),
    issue_other_text            text CHECK (char_length(issue_other_text) <= 500),
    children_in_household       integer CHECK (children_in_household BETWEEN 0 AND 50),
    consent_status              text NOT NULL CHECK (consent_status IN ('given', 'refused', 'not_sought', 'victim_not_aware')),
    victim_aware                boolean,
    non_consent_reason          text CHECK (char_length(non_consent_reason) <= 2000),
    lawful_basis                text NOT NULL,
    special_category_condition  text NOT NULL,
    summary                     text CHECK (char_length(summary) <= 10000),
    rejection_reason            text CHECK (char_length(rejection_reason) <= 2000),
    closure_categories          text[] NOT NULL DEFAULT '{}' CHECK (array_position(closure_categories, NULL) IS NULL),
    closure_reason              text CHECK (char_length(closure_reason) <= 2000),
    closed_on                   date,
    monitoring_window_ends_on   date,
    created_by                  uuid NOT NULL REFERENCES users (id),
    version                     integer NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cases_reference_key UNIQUE (panel_id, reference),
    CONSTRAINT cases_consent_reason_check CHECK (consent_status = 'given' OR non_consent_reason IS NOT NULL)
);

CREATE INDEX cases_panel_created_idx ON cases (panel_id, created_at, id);
CREATE INDEX cases_created_idx ON cases (created_at, id);
CREATE INDEX cases_referring_agency_idx ON cases (referring_agency_id);
CREATE INDEX cases_repeat_of_idx ON cases (repeat_of_case_id);

CREATE TABLE case_participants (
    case_id    uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    person_id  uuid NOT NULL REFERENCES people (id),
    role       text NOT NULL CHECK (role IN ('victim', 'perpetrator', 'child', 'other_adult_at_risk',
                   'vulnerable_person', 'person_of_concern', 'exploiter_associate', 'family_member', 'witness')),
    PRIMARY KEY (case_id, person_id, role)
);

CREATE INDEX case_participants_person_idx ON case_participants (person_id, role);

CREATE TABLE case_status_history (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id      uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    from_status  text,
    to_status    text NOT NULL,
    reason       text CHECK (char_length(reason) <= 2000),
    changed_by   uuid NOT NULL REFERENCES users (id),
    changed_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX case_status_history_case_idx ON case_status_history (case_id, changed_at);

CREATE TABLE risk_assessments (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id          uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    stage            text NOT NULL CHECK (stage IN ('entry', 'review', 'exit')),
    tool             text NOT NULL CHECK (tool IN ('dash_ric', 'cmarac_matrix', 'custom_score')),
    tool_version     text NOT NULL CHECK (char_length(tool_version) BETWEEN 1 AND 100),
    answers          jsonb,
    score            integer NOT NULL CHECK (score BETWEEN 0 AND 100000),
    dont_know_count  integer,
    threshold        integer,
    high_risk        boolean NOT NULL,
    breakdown        jsonb,
    assessed_on      date NOT NULL,
    agency_id        uuid REFERENCES agencies (id),
    created_by       uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX risk_assessments_case_idx ON risk_assessments (case_id, stage, created_at);

-- Next number for generated references, per panel and year (MARAC-2026-0042).
CREATE TABLE case_reference_counters (
    panel_id  uuid NOT NULL REFERENCES panels (id) ON DELETE CASCADE,
    year      integer NOT NULL,
    last      integer NOT NULL,
    PRIMARY KEY (panel_id, year)
);

-- Register imports, one row per file actually imported, so the same file twice creates nothing.
CREATE TABLE case_imports (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    panel_id    uuid NOT NULL REFERENCES panels (id),
    file_sha256 bytea NOT NULL CHECK (octet_length(file_sha256) = 32),
    rows_total  integer NOT NULL,
    cases_created integer NOT NULL,
    imported_by uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT case_imports_file_key UNIQUE (panel_id, file_sha256)
);
