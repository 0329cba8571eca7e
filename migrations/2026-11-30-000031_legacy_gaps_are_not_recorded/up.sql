-- Legacy gaps (issue 14): real registers carry lines with no referring agency (and JAG registers
-- have no such column: nominations come from hotspot analysis or the partnership). Such a case is
-- imported with its referring agency not recorded, never invented, and the gap is kept as a
-- data-quality flag for a coordinator to work through; so is a missing ward, and the reason of a
-- line closed without one. A line repeated word for word is imported
-- once and its case flagged `duplicate_row`.
ALTER TABLE cases ALTER COLUMN referring_agency_id DROP NOT NULL;

CREATE TABLE data_quality_flags (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    panel_id uuid NOT NULL REFERENCES panels (id),
    case_id uuid NOT NULL REFERENCES cases (id),
    kind text NOT NULL CHECK (kind IN ('referring_agency_not_recorded', 'ward_not_recorded', 'closure_reason_not_recorded',
                                       'duplicate_row')),
    import_id uuid REFERENCES case_imports (id),
    line integer CHECK (line >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_by uuid REFERENCES users (id),
    resolved_at timestamptz,
    CHECK ((resolved_by IS NULL) = (resolved_at IS NULL))
);
CREATE UNIQUE INDEX data_quality_flags_once ON data_quality_flags (case_id, kind);
CREATE INDEX data_quality_flags_open ON data_quality_flags (panel_id, created_at) WHERE resolved_at IS NULL;
GRANT SELECT, INSERT, UPDATE (resolved_by, resolved_at) ON data_quality_flags TO confer_app;
