-- building_daily written in bulk with its upkeep done once per load instead of per statement.
--
-- A bills load rewrites every day of the buildings its bills cover (20,000 accounts × a year
-- of monthly bills: 7.3 M building-days). The statement triggers of 0020 (building_monthly
-- from the transition tables) and 0011 (building references) then aggregate and check all
-- 7.3 M rows again: measured, they were a third to a half of the time of writing those rows
-- (bench/README.md, Bills). A loader that knows which (building, energy type) groups and
-- which days it rewrote can do both once, from the groups:
--
--   SET LOCAL quotawatch.deferred_upkeep = 'on';    -- this transaction only
--   DELETE / COPY the building-days of the groups in [lo, hi];
--   SET LOCAL quotawatch.deferred_upkeep = 'off';
--   SELECT building_daily_deferred_upkeep(buildings, energy_types, lo, hi, ...);
--   COPY building_monthly ... (the whole months the load wrote, summed by the loader);
--
-- building_daily_deferred_upkeep() gives the same guarantees as the skipped triggers: the
-- groups' buildings must exist and are locked FOR KEY SHARE (as 0011's check does), and the
-- building_monthly rows of the groups' months overlapping [lo, hi] are replaced by the sums
-- building_monthly_rebuild() computes: the whole months the loader wrote, from the rows it
-- wrote (it sums them as it sends them and COPYs the sums: re-reading 7.3 M just-written
-- rows took 9-19 s of a 7.3 M-day load, as the planner has no statistics for them yet), the
-- partial months at the ends of [lo, hi] from building_daily. Like building_monthly_rebuild()
-- and bulk loads, the loader writes building_monthly itself for the whole months. Loaders hold the
-- ingest advisory lock (ingest/queries.py), so no other loader writes the same groups'
-- days in between. Every other writer, and any statement without the setting, keeps the
-- per-statement triggers. The UPDATE triggers are unchanged (the loaders do not update).

DROP TRIGGER building_monthly_insert ON building_daily;
CREATE TRIGGER building_monthly_insert AFTER INSERT ON building_daily
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('quotawatch.deferred_upkeep', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION building_monthly_on_insert();

DROP TRIGGER building_monthly_delete ON building_daily;
CREATE TRIGGER building_monthly_delete AFTER DELETE ON building_daily
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    WHEN (current_setting('quotawatch.deferred_upkeep', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION building_monthly_on_delete();

DROP TRIGGER building_daily_references_insert ON building_daily;
CREATE TRIGGER building_daily_references_insert AFTER INSERT ON building_daily
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('quotawatch.deferred_upkeep', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION building_daily_check_references();

-- The upkeep of a deferred load of the groups (buildings[i], energy_types[i]) over the local
-- days [lo, hi]: the groups' buildings are checked and locked, their building_monthly rows of
-- the months overlapping [lo, hi] deleted, and those of the months not wholly within
-- [whole_from, whole_to] (the partial months at either end, which hold days outside [lo, hi]
-- too) aggregated again from building_daily, one index range per group. The loader then
-- COPYs the whole months [whole_from, whole_to], which it summed from the rows it wrote.
-- Returns the number of building_monthly rows written.
CREATE FUNCTION building_daily_deferred_upkeep(
    buildings text[], energy_types text[], lo date, hi date, whole_from date, whole_to date
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    missing text;
    first_month date := date_trunc('month', lo)::date;
    after_months date := (date_trunc('month', hi) + interval '1 month')::date;
    n bigint;
BEGIN
    PERFORM 1 FROM building b
      WHERE b.building_id IN (SELECT DISTINCT unnest(buildings))
        FOR KEY SHARE;
    SELECT g.building_id INTO missing
      FROM (SELECT DISTINCT unnest(buildings) AS building_id) g
     WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.building_id = g.building_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'building_daily: building % does not exist', missing
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    DELETE FROM building_monthly bm
     USING unnest(buildings, energy_types) AS g (building_id, energy_type)
     WHERE bm.building_id = g.building_id AND bm.energy_type = g.energy_type
       AND bm.month >= first_month AND bm.month < after_months;
    INSERT INTO building_monthly (building_id, energy_type, month, energy_kwh, reading_count,
                                  covered_hours, day_count, first_day)
    SELECT g.building_id, g.energy_type, a.month, a.energy_kwh, a.reading_count,
           a.covered_hours, a.day_count, a.first_day
      FROM unnest(buildings, energy_types) AS g (building_id, energy_type)
     CROSS JOIN LATERAL (
        SELECT date_trunc('month', d.day)::date AS month, sum(d.energy_kwh) AS energy_kwh,
               sum(d.reading_count) AS reading_count, sum(d.covered_hours) AS covered_hours,
               count(*)::int AS day_count, min(d.day) AS first_day
          FROM building_daily d
         WHERE d.building_id = g.building_id AND d.energy_type = g.energy_type
           AND d.day >= first_month AND d.day < after_months
           AND (d.day < whole_from OR d.day > whole_to)
         GROUP BY date_trunc('month', d.day)::date
     ) a;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
