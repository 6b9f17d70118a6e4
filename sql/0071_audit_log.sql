-- The audit log: who changed what, when and why, for every decision-relevant change
-- (quota versions, registry changes, determinations, reading corrections, user changes).
--
-- Append-only in the database: a trigger refuses UPDATE, DELETE and TRUNCATE of
-- audit_entry. Triggers fire for every role, including a superuser (which the embedded
-- cluster's role is), so the application cannot rewrite its own log.
--
-- The actor and reason of a change come from the transaction settings quotawatch.actor and
-- quotawatch.reason (set by the application with set_config(..., true)); without them the
-- actor is the database session's user.

CREATE TABLE audit_entry (
    entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    action      text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    building_id text,
    reason      text,
    before      jsonb,
    after       jsonb
);
CREATE INDEX audit_entry_at_idx ON audit_entry (at);
CREATE INDEX audit_entry_building_idx ON audit_entry (building_id, at);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry FROM PUBLIC;

-- A quota version is never changed once written.
CREATE TRIGGER quota_version_no_update BEFORE UPDATE ON quota_version
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('quotawatch.actor', true), ''), session_user::text)
$$;

CREATE FUNCTION audit_reason() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('quotawatch.reason', true), '')
$$;

CREATE FUNCTION audit_write(p_action text, p_building_id text, p_before jsonb, p_after jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit_entry (actor, action, building_id, reason, before, after)
    VALUES (audit_actor(), p_action, p_building_id, audit_reason(), p_before, p_after)
$$;

-- Quota versions: before = the version in force until now (NULL for the first).
CREATE FUNCTION audit_quota_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous jsonb;
BEGIN
    SELECT jsonb_build_object('version_id', v.version_id, 'limit', v.limit_value,
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
                'limit', NEW.limit_value, 'source', NEW.source, 'method', NEW.method,
                'file', NEW.file_name, 'file_sha256', NEW.file_sha256)));
    RETURN NULL;
END $$;
CREATE TRIGGER quota_version_audit AFTER INSERT ON quota_version
    FOR EACH ROW EXECUTE FUNCTION audit_quota_version();

-- Registry rows (buildings, meters): added, changed (only when a value other than the
-- bookkeeping timestamps changed), removed.
CREATE FUNCTION audit_registry_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    kind text := CASE TG_TABLE_NAME WHEN 'building' THEN 'building' ELSE 'meter' END;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD) - 'created_at' - 'updated_at' - 'meter_key';
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW) - 'created_at' - 'updated_at' - 'meter_key';
    END IF;
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN NULL;
    END IF;
    PERFORM audit_write(
        'registry.' || kind || CASE TG_OP WHEN 'INSERT' THEN '_added'
                                          WHEN 'UPDATE' THEN '_changed'
                                          ELSE '_removed' END,
        coalesce(new_row, old_row) ->> 'building_id', old_row, new_row);
    RETURN NULL;
END $$;
CREATE TRIGGER building_audit AFTER INSERT OR UPDATE OR DELETE ON building
    FOR EACH ROW EXECUTE FUNCTION audit_registry_row();
CREATE TRIGGER meter_audit AFTER INSERT OR UPDATE OR DELETE ON meter
    FOR EACH ROW EXECUTE FUNCTION audit_registry_row();

-- Reading corrections (a re-sent reading that replaced a stored one).
CREATE FUNCTION audit_reading_correction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m record;
BEGIN
    SELECT meter_id, building_id INTO m FROM meter WHERE meter_key = NEW.meter_key;
    PERFORM audit_write(
        'reading.corrected', m.building_id,
        jsonb_build_object('meter_id', m.meter_id, 'reading_at', NEW.reading_at,
                           'value', NEW.previous_value, 'energy_kwh', NEW.previous_energy_kwh,
                           'file_id', NEW.previous_file_id),
        jsonb_build_object('meter_id', m.meter_id, 'reading_at', NEW.reading_at,
                           'value', NEW.new_value, 'energy_kwh', NEW.new_energy_kwh,
                           'file_id', NEW.file_id, 'correction_id', NEW.correction_id));
    RETURN NULL;
END $$;
CREATE TRIGGER reading_correction_audit AFTER INSERT ON reading_correction
    FOR EACH ROW EXECUTE FUNCTION audit_reading_correction();
