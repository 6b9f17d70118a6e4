-- One name for the quota limit: `limit_value`, in the basis's unit (kWh for electricity_kwh,
-- kgce for energy_kgce), as quota_version and quota_effective already call it. The results
-- called it `quota`, the appeal `requested_limit` and the audit entries of quota versions
-- `limit`; they are renamed. No view or function reads the renamed result columns (the
-- guards compare whole rows as JSON), so only the audit trigger function is recreated.
--
-- Audit entries written before this migration keep the key `limit` in their before/after
-- (they are never changed); quota.record.audit reads it as `limit_value`.

ALTER TABLE evaluation_result RENAME COLUMN quota TO limit_value;
ALTER TABLE determination_result RENAME COLUMN quota TO limit_value;
ALTER TABLE appeal RENAME COLUMN requested_limit TO requested_limit_value;

CREATE OR REPLACE FUNCTION audit_quota_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous jsonb;
BEGIN
    SELECT jsonb_build_object('version_id', v.version_id, 'limit_value', v.limit_value,
                              'source', v.source)
      INTO previous
      FROM quota_version v
     WHERE v.building_id = NEW.building_id AND v.year = NEW.year AND v.basis = NEW.basis
       AND v.version_id < NEW.version_id
     ORDER BY (v.source <> 'proposed') DESC, v.version_id DESC
     LIMIT 1;
    INSERT INTO audit_entry (actor, action, building_id, reason, before, after)
    VALUES (NEW.actor, 'quota.' || NEW.source, NEW.building_id,
            coalesce(NEW.reason, audit_reason()), previous,
            jsonb_strip_nulls(jsonb_build_object(
                'version_id', NEW.version_id, 'year', NEW.year, 'basis', NEW.basis,
                'limit_value', NEW.limit_value, 'source', NEW.source, 'method', NEW.method,
                'file', NEW.file_name, 'file_sha256', NEW.file_sha256)));
    RETURN NULL;
END $$;
