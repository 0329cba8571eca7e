-- MARAC-to-MARAC transfers (issue 13.4, DOMAIN.md §6.1). A case leaves for another area
-- (direction 'out': the case becomes transferred_out, the IDVA hands over) or arrives from one
-- (direction 'in': the case starts at screening, a new DASH expected). When both panels are on
-- this system the two records name each other's case. The transfer pack is rendered from the
-- origin case when asked for, through the reader's field access.
CREATE TABLE case_transfers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id uuid NOT NULL REFERENCES cases (id),
    direction text NOT NULL CHECK (direction IN ('out', 'in')),
    other_area text NOT NULL CHECK (char_length(other_area) BETWEEN 1 AND 200),
    other_panel_id uuid REFERENCES panels (id),
    other_case_id uuid REFERENCES cases (id),
    other_reference text CHECK (char_length(other_reference) BETWEEN 1 AND 100),
    transferred_on date NOT NULL,
    reason text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    idva_handover_to text CHECK (char_length(idva_handover_to) BETWEEN 1 AND 200),
    idva_handover_on date,
    recorded_by uuid NOT NULL REFERENCES users (id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((idva_handover_to IS NULL) = (idva_handover_on IS NULL))
);
-- A case leaves once and arrives once (a later move is a new case there).
CREATE UNIQUE INDEX case_transfers_one_per_direction ON case_transfers (case_id, direction);
CREATE INDEX case_transfers_by_date ON case_transfers (transferred_on);
GRANT SELECT, INSERT ON case_transfers TO confer_app;
