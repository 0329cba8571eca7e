-- What a referral form records of a person (issue 13.2, DOMAIN.md §5): every date of birth an
-- agency holds (agencies hold different ones), addresses as a dated history (current, home,
-- previous, refuge, temporary; a victim's are tagged victim.address), language and interpreter
-- need, the GP practice (tag health), and each participant's relationship to the victim and to
-- the perpetrator.
ALTER TABLE people
    ADD COLUMN language text CHECK (char_length(language) BETWEEN 1 AND 100),
    ADD COLUMN interpreter_needed boolean,
    ADD COLUMN gp_practice text CHECK (char_length(gp_practice) BETWEEN 1 AND 200);

CREATE TABLE person_dates_of_birth (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id uuid NOT NULL REFERENCES people (id),
    date_of_birth date NOT NULL,
    held_by uuid REFERENCES agencies (id),
    recorded_by uuid NOT NULL REFERENCES users (id),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX person_dates_of_birth_once ON person_dates_of_birth (person_id, date_of_birth, held_by) NULLS NOT DISTINCT;

CREATE TABLE person_addresses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id uuid NOT NULL REFERENCES people (id),
    kind text NOT NULL CHECK (kind IN ('current', 'home', 'previous', 'refuge', 'temporary')),
    address text NOT NULL CHECK (char_length(address) BETWEEN 1 AND 500),
    postcode text CHECK (char_length(postcode) BETWEEN 1 AND 10),
    from_date date,
    to_date date,
    supplied_by uuid REFERENCES agencies (id),
    recorded_by uuid NOT NULL REFERENCES users (id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (to_date IS NULL OR from_date IS NULL OR to_date >= from_date)
);
CREATE INDEX person_addresses_by_person ON person_addresses (person_id, recorded_at);

ALTER TABLE case_participants
    ADD COLUMN relationship_to_victim text CHECK (char_length(relationship_to_victim) BETWEEN 1 AND 100),
    ADD COLUMN relationship_to_perpetrator text CHECK (char_length(relationship_to_perpetrator) BETWEEN 1 AND 100);

GRANT SELECT, INSERT ON person_dates_of_birth, person_addresses TO confer_app;
