-- Location cases in full (issue 14; DOMAIN.md §6.3, §7.6, §7.7, §8.3).

-- A location as councils identify it: the address, its postcode and the Unique Property
-- Reference Number where the place has one.
ALTER TABLE locations
    ADD COLUMN address text CHECK (char_length(address) <= 500),
    ADD COLUMN postcode text CHECK (char_length(postcode) <= 10),
    ADD COLUMN uprn text CHECK (uprn ~ '^[0-9]{1,12}$');
CREATE INDEX locations_uprn ON locations (uprn) WHERE uprn IS NOT NULL;

-- The problem-solving record of a JAG case: where its nomination came from, its adoption to a
-- locality group and a lead organisation, and the SARA plan (scan, analysis, response,
-- assessment). One row per JAG case, edited with If-Match on `version`.
CREATE TABLE location_cases (
    case_id uuid PRIMARY KEY REFERENCES cases (id),
    nomination_source text CHECK (nomination_source IN ('partner', 'hotspot_analysis', 'partnership',
                                                        'community_trigger')),
    adopted_on date,
    locality_group text CHECK (char_length(locality_group) <= 200),
    lead_agency_id uuid REFERENCES agencies (id),
    scan text CHECK (char_length(scan) <= 10000),
    analysis text CHECK (char_length(analysis) <= 10000),
    response text CHECK (char_length(response) <= 10000),
    assessment text CHECK (char_length(assessment) <= 10000),
    version integer NOT NULL DEFAULT 1,
    updated_by uuid REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO location_cases (case_id)
SELECT c.id FROM cases c JOIN panels p ON p.id = c.panel_id WHERE p.kind = 'jag';

-- Interventions one by one (§7.7), so a problem address's escalation ladder reads in order. A
-- breach is recorded against the order it breaches (`breach_of`).
CREATE TABLE interventions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    panel_id uuid NOT NULL REFERENCES panels (id),
    tool text NOT NULL CHECK (tool IN (
        'verbal_warning', 'warning_letter', 'acceptable_behaviour_agreement', 'community_protection_warning',
        'community_protection_notice', 'fixed_penalty_notice', 'pspo', 'dispersal_direction', 'civil_injunction',
        'criminal_behaviour_order', 'closure_notice', 'closure_order_partial', 'closure_order_full',
        'closure_order_breach', 'absolute_ground_possession', 'community_remedy', 'warrant',
        'mobile_cctv_deployment', 'multi_agency_operation', 'design_out_crime', 'support_referral')),
    used_on date NOT NULL,
    agency_id uuid REFERENCES agencies (id),
    court_reference text CHECK (char_length(court_reference) <= 100),
    expires_on date CHECK (expires_on >= used_on),
    breach_of uuid REFERENCES interventions (id),
    notes text CHECK (char_length(notes) <= 2000),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interventions_case ON interventions (case_id, used_on, created_at);
CREATE INDEX interventions_panel ON interventions (panel_id, used_on);

-- Escalation links from a location case to the person cases it led to (a vulnerable resident
-- referred to CMARAC, a cuckooing victim to MARAC). Read only where the reader sees the other case.
CREATE TABLE case_links (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    location_case_id uuid NOT NULL REFERENCES cases (id),
    person_case_id uuid NOT NULL REFERENCES cases (id),
    reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (location_case_id, person_case_id),
    CHECK (location_case_id <> person_case_id)
);
CREATE INDEX case_links_person ON case_links (person_case_id);

-- The Community Trigger (ASB case review, §7.7): a victim-initiated review, its own record with
-- the steps whose timescales are tracked.
CREATE TABLE community_triggers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    panel_id uuid NOT NULL REFERENCES panels (id),
    case_id uuid REFERENCES cases (id),
    received_on date NOT NULL,
    summary text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 5000),
    acknowledged_on date CHECK (acknowledged_on >= received_on),
    threshold_met boolean,
    threshold_decided_on date CHECK (threshold_decided_on >= received_on),
    review_held_on date CHECK (review_held_on >= received_on),
    recommendations text CHECK (char_length(recommendations) <= 10000),
    applicant_informed_on date CHECK (applicant_informed_on >= received_on),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((threshold_met IS NULL) = (threshold_decided_on IS NULL)),
    CHECK (review_held_on IS NULL OR threshold_met)
);
CREATE INDEX community_triggers_panel ON community_triggers (panel_id, received_on, id);

GRANT SELECT, INSERT, UPDATE ON location_cases TO confer_app;
GRANT SELECT, INSERT ON interventions TO confer_app;
GRANT SELECT, INSERT ON case_links TO confer_app;
GRANT SELECT, INSERT, UPDATE ON community_triggers TO confer_app;
