-- Panel meetings, their agendas, attendance, discussion notes, minutes, and the actions agencies
-- agree (DOMAIN.md §6.4-§6.6). Notes, minutes versions and partner updates are append-only.

CREATE TABLE meetings (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    panel_id          uuid NOT NULL REFERENCES panels (id),
    kind              text NOT NULL DEFAULT 'regular' CHECK (kind IN ('regular', 'emergency')),
    mode              text NOT NULL DEFAULT 'virtual' CHECK (mode IN ('in_person', 'virtual', 'hybrid')),
    meeting_date      date NOT NULL,
    start_time        time NOT NULL,
    venue             text CHECK (char_length(venue) <= 500),
    virtual_link      text CHECK (char_length(virtual_link) <= 500),
    chair_user_id     uuid REFERENCES users (id),
    agenda_cutoff_at  timestamptz,
    status            text NOT NULL DEFAULT 'scheduled' CHECK (status IN
                          ('scheduled', 'agenda_published', 'in_progress', 'held', 'minutes_circulated', 'cancelled')),
    agenda_version    integer NOT NULL DEFAULT 1,
    created_by        uuid NOT NULL REFERENCES users (id),
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX meetings_panel_date_idx ON meetings (panel_id, meeting_date, id);
CREATE INDEX meetings_created_idx ON meetings (created_at, id);

CREATE TABLE agenda_items (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id  uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    case_id     uuid NOT NULL REFERENCES cases (id),
    section     text NOT NULL CHECK (section IN
                    ('outstanding_actions', 'children_cases', 'adult_only_cases', 'twelve_month_lapse_notices', 'aob')),
    position    integer NOT NULL CHECK (position >= 1),
    listing_reason text NOT NULL CHECK (listing_reason IN
                    ('new_referral', 'repeat', 'review', 'transfer_in', 'outstanding_actions', 'lapse_notice', 'added')),
    outcome     text CHECK (outcome IN ('heard', 'deferred', 'withdrawn', 'not_reached')),
    CONSTRAINT agenda_items_case_key UNIQUE (meeting_id, case_id),
    CONSTRAINT agenda_items_position_key UNIQUE (meeting_id, position) DEFERRABLE INITIALLY DEFERRED
);

CREATE INDEX agenda_items_case_idx ON agenda_items (case_id);

CREATE TABLE attendance (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id          uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    agency_id           uuid NOT NULL REFERENCES agencies (id),
    user_id             uuid REFERENCES users (id),
    person_name         text CHECK (char_length(person_name) <= 200),
    attendance_type     text NOT NULL CHECK (attendance_type IN ('present', 'apologies', 'information_sent', 'observer')),
    confidentiality_acknowledged_at timestamptz,
    recorded_by         uuid NOT NULL REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attendance_person_key UNIQUE NULLS NOT DISTINCT (meeting_id, agency_id, user_id)
);

CREATE INDEX attendance_agency_idx ON attendance (agency_id, meeting_id);

CREATE TABLE discussion_notes (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agenda_item_id      uuid NOT NULL REFERENCES agenda_items (id) ON DELETE CASCADE,
    agency_id           uuid REFERENCES agencies (id),
    shared_information  text CHECK (char_length(shared_information) <= 10000),
    risk_summary        text CHECK (char_length(risk_summary) <= 10000),
    decisions           text CHECK (char_length(decisions) <= 10000),
    created_by          uuid NOT NULL REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX discussion_notes_item_idx ON discussion_notes (agenda_item_id, created_at);

-- Every save of the minutes is a new row; circulated rows are never changed.
CREATE TABLE minutes_versions (
    meeting_id     uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    version        integer NOT NULL CHECK (version >= 1),
    body           text NOT NULL CHECK (char_length(body) <= 200000),
    circulated_at  timestamptz,
    created_by     uuid NOT NULL REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (meeting_id, version)
);

CREATE TABLE actions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id           uuid NOT NULL REFERENCES cases (id),
    meeting_id        uuid REFERENCES meetings (id),
    description       text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 2000),
    owner_agency_id   uuid NOT NULL REFERENCES agencies (id),
    owner_user_id     uuid REFERENCES users (id),
    due_date          date NOT NULL,
    status            text NOT NULL DEFAULT 'open' CHECK (status IN
                          ('open', 'in_progress', 'completed', 'not_completed_change_of_circumstance',
                           'not_completed_agency_not_actioned', 'cancelled', 'carried_forward')),
    outcome_note      text CHECK (char_length(outcome_note) <= 2000),
    completed_on      date,
    created_by        uuid NOT NULL REFERENCES users (id),
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX actions_case_idx ON actions (case_id, created_at);
CREATE INDEX actions_owner_idx ON actions (owner_agency_id, status, due_date);
CREATE INDEX actions_created_idx ON actions (created_at, id);

CREATE TABLE action_updates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    action_id   uuid NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    agency_id   uuid REFERENCES agencies (id),
    note        text NOT NULL CHECK (char_length(note) BETWEEN 1 AND 5000),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX action_updates_action_idx ON action_updates (action_id, seq);
