-- Panels (DOMAIN.md §1, §3.4): each has its own local settings. Every change of settings is kept
-- in panel_settings_versions with the time it took effect, so a past decision can be re-evaluated
-- against the rules in force at the time.
CREATE TABLE panels (
    id                              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind                            text NOT NULL CHECK (kind IN ('marac', 'cmarac', 'jag')),
    name                            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    local_area                      text NOT NULL CHECK (char_length(local_area) BETWEEN 1 AND 200),
    meeting_cadence                 text NOT NULL CHECK (meeting_cadence IN
                                        ('weekly', 'fortnightly', 'monthly', 'six_weekly', 'quarterly', 'ad_hoc')),
    minutes_per_case                smallint NOT NULL DEFAULT 10 CHECK (minutes_per_case BETWEEN 1 AND 120),
    dash_high_risk_threshold        smallint NOT NULL DEFAULT 14 CHECK (dash_high_risk_threshold BETWEEN 1 AND 24),
    escalation_incident_count       smallint NOT NULL DEFAULT 3 CHECK (escalation_incident_count BETWEEN 1 AND 100),
    escalation_window_days          smallint NOT NULL DEFAULT 365 CHECK (escalation_window_days BETWEEN 1 AND 3660),
    repeat_window_days              smallint NOT NULL DEFAULT 365 CHECK (repeat_window_days BETWEEN 1 AND 3660),
    repeat_window_anchor            text NOT NULL DEFAULT 'last_referral'
                                        CHECK (repeat_window_anchor IN ('last_referral', 'last_meeting')),
    cmarac_high_risk_threshold      integer CHECK (cmarac_high_risk_threshold BETWEEN 0 AND 10000),
    reporting_year_start_month      smallint NOT NULL DEFAULT 4 CHECK (reporting_year_start_month BETWEEN 1 AND 12),
    adult_female_population_16_plus integer CHECK (adult_female_population_16_plus > 0),
    population_source               text CHECK (char_length(population_source) <= 200),
    population_year                 smallint CHECK (population_year BETWEEN 1900 AND 2200),
    suppression_k                   smallint NOT NULL DEFAULT 5 CHECK (suppression_k BETWEEN 1 AND 100),
    active                          boolean NOT NULL DEFAULT true,
    version                         integer NOT NULL DEFAULT 1,
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX panels_name_key ON panels (lower(name));
CREATE INDEX panels_created_at_id_idx ON panels (created_at, id);

-- Member organisations. Only an active member with a signed information sharing agreement gives
-- its staff any sight of the panel's cases (SECURITY.md §2.3).
CREATE TABLE panel_members (
    panel_id      uuid NOT NULL REFERENCES panels (id) ON DELETE CASCADE,
    agency_id     uuid NOT NULL REFERENCES agencies (id),
    isa_signed_on date,
    active        boolean NOT NULL DEFAULT true,
    PRIMARY KEY (panel_id, agency_id)
);

CREATE INDEX panel_members_agency_id_idx ON panel_members (agency_id);

CREATE TABLE panel_settings_versions (
    panel_id       uuid NOT NULL REFERENCES panels (id) ON DELETE CASCADE,
    version        integer NOT NULL,
    effective_from timestamptz NOT NULL DEFAULT now(),
    settings       jsonb NOT NULL,
    PRIMARY KEY (panel_id, version)
);
