-- Co-referring agencies (issue 13.3, DOMAIN.md §5): a referral can name organisations that refer
-- together with the referring agency. They see the case as the referrer does (need to know), and
-- the referral-route figures share each case among all its referrers (1/n each, DOMAIN.md §8).
ALTER TABLE cases ADD COLUMN co_referring_agency_ids uuid[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(co_referring_agency_ids) <= 5 AND array_position(co_referring_agency_ids, NULL) IS NULL
           AND NOT referring_agency_id = ANY (co_referring_agency_ids));
