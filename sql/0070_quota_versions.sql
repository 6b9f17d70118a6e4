-- Quota versions: every change to a building's quota for a year and basis is a new row of
-- quota_version, never an overwrite. The version in force is the latest published one
-- (imported or adjusted); a building with no published version has its latest proposal in
-- force (published quotas always win over QuotaWatch's own proposals).
--
-- The old table `quota` becomes a view with its old columns (the latest version of each
-- source), so readers keep working; quota_effective keeps its name and columns and gains
-- version_id. Inserting into the view adds a version (for scripts that wrote the table).

CREATE TABLE quota_version (
    version_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id text NOT NULL REFERENCES building ON DELETE CASCADE,
    year        integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    basis       text NOT NULL CHECK (basis IN ('electricity_kwh', 'energy_kgce')),
    -- Annual limit in the basis's unit: kWh for electricity_kwh, kgce for energy_kgce.
    limit_value double precision NOT NULL CHECK (limit_value > 0),
    source      text NOT NULL CHECK (source IN ('imported', 'proposed', 'adjusted')),
    method      text,
    explanation jsonb,
    reason      text,
    actor       text NOT NULL
                DEFAULT coalesce(nullif(current_setting('quotawatch.actor', true), ''),
                                 session_user),
    -- For imports: the file's name and the SHA-256 of its bytes.
    file_name   text,
    file_sha256 text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (source <> 'adjusted' OR coalesce(btrim(reason), '') <> '')
);
CREATE INDEX quota_version_key_idx ON quota_version (building_id, year, basis, version_id);
CREATE INDEX quota_version_year_idx ON quota_version (year);

INSERT INTO quota_version (building_id, year, basis, limit_value, source, method, explanation,
                           actor, created_at)
SELECT building_id, year, basis, limit_value, source, method, explanation, 'migration',
       updated_at
  FROM quota
 ORDER BY updated_at, (source = 'imported');

DROP VIEW quota_effective;
DROP TABLE quota;

-- The latest version of each source, with the old table's columns.
CREATE VIEW quota AS
SELECT DISTINCT ON (building_id, year, basis, source)
       building_id, year, basis, limit_value, source, method, explanation,
       created_at AS updated_at, version_id
  FROM quota_version
 ORDER BY building_id, year, basis, source, version_id DESC;

-- The version in force per building, year and basis.
CREATE VIEW quota_effective AS
SELECT DISTINCT ON (building_id, year, basis)
       building_id, year, basis, limit_value, source, method, version_id
  FROM quota_version
 ORDER BY building_id, year, basis, (source <> 'proposed') DESC, version_id DESC;

CREATE FUNCTION quota_view_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO quota_version (building_id, year, basis, limit_value, source, method,
                               explanation)
    VALUES (NEW.building_id, NEW.year, NEW.basis, NEW.limit_value, NEW.source, NEW.method,
            NEW.explanation);
    RETURN NEW;
END $$;
CREATE TRIGGER quota_view_insert INSTEAD OF INSERT ON quota
    FOR EACH ROW EXECUTE FUNCTION quota_view_insert();
