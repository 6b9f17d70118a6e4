-- Year-end determinations: the evaluation of a whole year (through 31 December) frozen as
-- the regulator's decision. One determination is in force per year (superseded_by IS NULL);
-- a new one for the same year supersedes the old, which is kept. Rows are never deleted or
-- changed, except that superseded_by is set once.

CREATE TABLE determination (
    determination_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year             integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    as_of            date NOT NULL,
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor            text NOT NULL,
    reason           text,
    timezone         text NOT NULL,
    -- The evaluation rules and the conversion/emission factors used, with their sources.
    rules            jsonb NOT NULL,
    factors          jsonb NOT NULL,
    unverified       jsonb NOT NULL DEFAULT '[]'::jsonb,
    superseded_by    bigint REFERENCES determination,
    CHECK (superseded_by IS NULL OR superseded_by <> determination_id),
    -- One in force per year, checked at commit (a new determination is inserted before the
    -- old one is marked superseded by it).
    CONSTRAINT determination_one_in_force EXCLUDE USING btree (year WITH =)
        WHERE (superseded_by IS NULL) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE determination_result (
    determination_id bigint NOT NULL REFERENCES determination,
    building_id      text NOT NULL,
    basis            text NOT NULL,
    status           text NOT NULL,
    -- Use in the basis unit (kWh for electricity_kwh, kgce for energy_kgce).
    use_value        double precision,
    energy_kwh       double precision,
    energy_kgce      double precision,
    quota            double precision,
    quota_version_id bigint REFERENCES quota_version,
    expected_share   double precision,
    utilization      double precision,
    projected        double precision,
    completeness     double precision,
    excess           double precision,
    eui_kwh_per_m2   double precision,
    co2_kg           double precision,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (determination_id, building_id, basis)
);
CREATE INDEX determination_result_building_idx ON determination_result (building_id);

CREATE FUNCTION determination_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL
           AND (to_jsonb(OLD) - 'superseded_by') = (to_jsonb(NEW) - 'superseded_by') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'determinations are kept as determined: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER determination_guard BEFORE UPDATE OR DELETE ON determination
    FOR EACH ROW EXECUTE FUNCTION determination_guard();
CREATE TRIGGER determination_result_guard BEFORE UPDATE OR DELETE ON determination_result
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER determination_no_truncate BEFORE TRUNCATE ON determination
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER determination_result_no_truncate BEFORE TRUNCATE ON determination_result
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
