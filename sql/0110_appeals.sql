-- Appeals: a building's manager contests a year's quota or determination; a regulator
-- accepts (recording a quota adjustment whose reason is the appeal) or rejects it with a
-- reason. An appeal is decided once: the only change allowed is open -> accepted/rejected
-- with who, when and why; appeals are never deleted. Every step is in the audit log
-- (quota.appeals writes appeal.submitted / appeal.accepted / appeal.rejected).

CREATE TABLE appeal (
    appeal_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    building_id      text NOT NULL REFERENCES building ON DELETE RESTRICT,
    year             integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    basis            text NOT NULL CHECK (basis IN ('electricity_kwh', 'energy_kgce')),
    reason           text NOT NULL CHECK (btrim(reason) <> ''),
    -- The quota the manager asks for, in the basis's unit (kWh or kgce); optional.
    requested_limit  double precision CHECK (requested_limit > 0),
    submitted_by     text NOT NULL,
    submitted_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The year's determination in force when the appeal was submitted (NULL: none yet).
    determination_id bigint REFERENCES determination,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    decided_by       text,
    decided_at       timestamptz,
    decision_reason  text,
    -- The adjusted quota version an accepted appeal recorded, and the determination that
    -- superseded the year's determination with it (when the regulator asked for one).
    quota_version_id bigint REFERENCES quota_version,
    determination_after_id bigint REFERENCES determination,
    CHECK ((status = 'open') = (decided_by IS NULL AND decided_at IS NULL)),
    CHECK (status = 'open' OR btrim(coalesce(decision_reason, '')) <> ''),
    CHECK ((status = 'accepted') = (quota_version_id IS NOT NULL)),
    CHECK (determination_after_id IS NULL OR status = 'accepted')
);
CREATE INDEX appeal_building_idx ON appeal (building_id, year);
CREATE INDEX appeal_open_idx ON appeal (submitted_at) WHERE status = 'open';
-- One open appeal per building, year and basis.
CREATE UNIQUE INDEX appeal_one_open ON appeal (building_id, year, basis) WHERE status = 'open';

CREATE FUNCTION appeal_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = 'open' AND NEW.status <> 'open'
       AND (to_jsonb(OLD) - ARRAY['status', 'decided_by', 'decided_at', 'decision_reason',
                                  'quota_version_id', 'determination_after_id'])
         = (to_jsonb(NEW) - ARRAY['status', 'decided_by', 'decided_at', 'decision_reason',
                                  'quota_version_id', 'determination_after_id']) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'appeals are kept as submitted and decided once: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER appeal_guard BEFORE UPDATE OR DELETE ON appeal
    FOR EACH ROW EXECUTE FUNCTION appeal_guard();
CREATE TRIGGER appeal_no_truncate BEFORE TRUNCATE ON appeal
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
