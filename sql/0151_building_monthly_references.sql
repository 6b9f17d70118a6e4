-- building_monthly's reference to building checked once per statement, as building_daily's
-- (0011) and evaluation_result's (0021).
--
-- A bills load writes the whole months of its groups into building_monthly itself (0140):
-- 240,000 rows for a year of monthly bills of 20,000 buildings, whose foreign-key check ran
-- once per row (measured: 1.1 s of a 2.3 s COPY of those rows). The guarantees stay: a new
-- row must name an existing building, which is locked FOR KEY SHARE until the commit (once per
-- distinct building and statement; under the deferred upkeep of 0140,
-- building_daily_deferred_upkeep() has checked and locked the load's buildings already);
-- deleting or truncating buildings deletes their monthly rows (was ON DELETE CASCADE); a
-- building whose id has monthly rows cannot change it (was NO ACTION); and a monthly row
-- cannot move to another building (it is derived: rebuild instead).

ALTER TABLE building_monthly DROP CONSTRAINT building_monthly_building_id_fkey;

CREATE FUNCTION building_monthly_check_references() RETURNS trigger
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
        RAISE EXCEPTION 'building_monthly: building % does not exist', missing
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER building_monthly_references_insert AFTER INSERT ON building_monthly
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('quotawatch.deferred_upkeep', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION building_monthly_check_references();

CREATE FUNCTION building_monthly_keep_building() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.building_id IS DISTINCT FROM OLD.building_id THEN
        RAISE EXCEPTION 'building_monthly: a monthly row cannot move to another building'
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER building_monthly_keep_building BEFORE UPDATE OF building_id ON building_monthly
    FOR EACH ROW EXECUTE FUNCTION building_monthly_keep_building();

CREATE OR REPLACE FUNCTION building_daily_delete_of_buildings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM building_daily d USING old_rows o WHERE d.building_id = o.building_id;
    DELETE FROM building_daily_run r USING old_rows o WHERE r.building_id = o.building_id;
    DELETE FROM building_monthly m USING old_rows o WHERE m.building_id = o.building_id;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION building_daily_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    TRUNCATE building_daily, building_daily_run, building_monthly;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION building_daily_keep_building_ids() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    gone text;
BEGIN
    SELECT o.building_id INTO gone
      FROM old_rows o
     WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.building_id = o.building_id)
       AND (EXISTS (SELECT 1 FROM building_daily d WHERE d.building_id = o.building_id)
            OR EXISTS (SELECT 1 FROM building_daily_run r WHERE r.building_id = o.building_id)
            OR EXISTS (SELECT 1 FROM building_monthly m WHERE m.building_id = o.building_id))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'building %: id is still referenced by building_daily', gone
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
