-- The ingest write path: fewer per-row costs on the tables every load writes.
-- Measured with bench/ingest.py and the figures in bench/README.md (2 cores).

-- 1. reading: drop the time-only index that create_hypertable adds by default.
--
-- Every reading was written into two B-trees, the primary key (meter_key, reading_at) and
-- reading_reading_at_idx (reading_at DESC). Binary COPY of 2 M hourly rows into 7-day
-- chunks: 205,000 rows/s with both, 316,000-394,000 with the primary key alone. Nothing needs
-- the second one: every question about readings names meters (a building's heat map, the
-- base load of candidate buildings, the previous register reading, the loader's probes),
-- which the primary key answers, and chunk exclusion prunes by time without an index. The
-- one all-meter question, the span of stored readings for `quotawatch rollups rebuild`, asks
-- per meter through the primary key instead.
DROP INDEX IF EXISTS reading_reading_at_idx;

-- 2. meter_daily: no foreign key to meter.
--
-- A load adds one row per meter and local day (84,000 for 2 M hourly readings of 1,000
-- meters); the per-row referential check took 0.46 s of the 1.2 s that cost. Rows are only
-- written by the loader and `quotawatch rollups rebuild`, for keys read from meter in the
-- same transaction; the trigger that kept a meter with readings from being deleted now also
-- keeps one with daily rollups.
ALTER TABLE meter_daily DROP CONSTRAINT meter_daily_meter_key_fkey;

CREATE OR REPLACE FUNCTION meter_keep_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM reading WHERE meter_key = OLD.meter_key)
       OR EXISTS (SELECT 1 FROM meter_daily WHERE meter_key = OLD.meter_key) THEN
        RAISE EXCEPTION 'meter % has readings and cannot be deleted', OLD.meter_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$;

-- 3. meter_daily: no index by day alone. Every reader of meter_daily names meters (a
-- building's meters, stale meters, the rollup refresh), which the primary key (meter_key,
-- day) serves; the second B-tree was only upkeep for each new meter-day.
DROP INDEX IF EXISTS meter_daily_day_idx;

-- 4. building_daily: its reference to building checked once per statement.
--
-- A load rewrites the building-days it touched (70,000 rows for 5 M hourly readings of
-- 1,000 meters); the per-row foreign-key check took a third of that. The same guarantees,
-- per statement: written rows must name existing buildings, whose rows are locked FOR KEY
-- SHARE (once per distinct building, as the per-row check did per row) so they cannot be
-- deleted or renamed before the commit; deleting or truncating buildings deletes their
-- daily rows (was ON DELETE CASCADE); changing the id of a building that has daily rows is
-- refused (was NO ACTION). Functions run with their owner's privileges, as the checks and
-- cascades they stand for do.
ALTER TABLE building_daily DROP CONSTRAINT building_daily_building_id_fkey;

CREATE FUNCTION building_daily_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    missing text;
BEGIN
    PERFORM 1 FROM building b
      WHERE b.building_id IN (SELECT DISTINCT building_id FROM new_rows)
        FOR KEY SHARE;
    SELECT n.building_id INTO missing
      FROM (SELECT DISTINCT building_id FROM new_rows) n
     WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.building_id = n.building_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'building_daily: building % does not exist', missing
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER building_daily_references_insert AFTER INSERT ON building_daily
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION building_daily_check_references();
CREATE TRIGGER building_daily_references_update AFTER UPDATE ON building_daily
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION building_daily_check_references();

CREATE FUNCTION building_daily_delete_of_buildings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM building_daily d USING old_rows o WHERE d.building_id = o.building_id;
    RETURN NULL;
END
$$;
CREATE FUNCTION building_daily_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    TRUNCATE building_daily;
    RETURN NULL;
END
$$;
CREATE TRIGGER building_daily_cascade_building AFTER DELETE ON building
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION building_daily_delete_of_buildings();
CREATE TRIGGER building_daily_truncate_building AFTER TRUNCATE ON building
    FOR EACH STATEMENT EXECUTE FUNCTION building_daily_truncate();

CREATE FUNCTION building_daily_keep_building_ids() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    gone text;
BEGIN
    SELECT o.building_id INTO gone
      FROM old_rows o
     WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.building_id = o.building_id)
       AND EXISTS (SELECT 1 FROM building_daily d WHERE d.building_id = o.building_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'building %: id is still referenced by building_daily', gone
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER building_daily_keep_building_ids AFTER UPDATE ON building
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION building_daily_keep_building_ids();
