-- Partner organisations (DOMAIN.md §7.2). One canonical row per organisation; every spelling it is
-- known by (the canonical name included) sits in agency_names under a normalised key, so the same
-- organisation cannot be created twice under another spelling.
CREATE TABLE agencies (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    agency_type text NOT NULL CHECK (agency_type IN (
        'police', 'idva_service', 'childrens_social_care', 'adult_social_care', 'primary_care',
        'secondary_care_acute_trust', 'mental_health', 'substance_misuse', 'probation',
        'voluntary_sector', 'mash', 'education', 'housing_local_authority',
        'housing_registered_provider', 'homelessness_outreach', 'specialist_bamer',
        'specialist_lgbt', 'fire_service', 'cafcass', 'victim_support', 'community_safety_asb',
        'dwp', 'other')),
    aliases     text[] NOT NULL DEFAULT '{}' CHECK (cardinality(aliases) <= 20 AND array_position(aliases, NULL) IS NULL),
    active      boolean NOT NULL DEFAULT true,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX agencies_created_at_id_idx ON agencies (created_at, id);

CREATE TABLE agency_names (
    normalized text PRIMARY KEY CHECK (char_length(normalized) BETWEEN 1 AND 200),
    agency_id  uuid NOT NULL REFERENCES agencies (id) ON DELETE CASCADE
);

CREATE INDEX agency_names_agency_id_idx ON agency_names (agency_id);
