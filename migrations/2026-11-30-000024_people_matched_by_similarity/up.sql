-- The duplicate check matches spelling variants (issue 13.7: surname alone, or one letter off,
-- found nothing). pg_trgm ships with PostgreSQL and is a trusted extension: a database owner may
-- create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
