-- Billed building-days stored as runs of equal days, read through building_days(lo, hi).
--
-- A bill is spread evenly over its days (ingest/proration.py), so the days a bill covers
-- carry one and the same figure: a year of monthly bills for 20,000 buildings is 7.3 M
-- building-days but only 240,000 distinct ones. Written one row a day into building_daily,
-- those days cost two B-tree entries each: measured, writing them took 3-5x a COPY of the same
-- rows into an unindexed table before a single bill was parsed (bench/README.md, Bills), and
-- the primary key alone 2.7x. Stored as runs (first day, last day, the figure of each day),
-- the same days are one row a bill and building.
--
-- building_daily_run holds runs of consecutive days of one building and energy type whose
-- figures are equal: today the billed days (source 'bills'), written by the bills recompute
-- (ingest/bills_rollups.py) only. A day is in building_daily or in one run, never both
-- (the recompute rewrites both for its groups and days). Every reader of building-days reads
-- building_days(lo, hi): the rows of building_daily and the days of the runs, clipped to
-- [lo, hi] — the same rows building_daily held before. It is a SQL function that the planner
-- inlines, so a reader's conditions (a building, an energy type) reach both tables' indexes.
--
-- The monthly rollup (0020) counts run days like building_daily days. The runs are written
-- with the deferred upkeep of 0140 only (the writer sums the whole months and
-- building_daily_deferred_upkeep() the partial ones, checks and locks the buildings): a write
-- without it is refused, so no run can escape the rollup or the reference check. Deleting,
-- renaming or truncating buildings treats runs as building_daily rows (0011).

CREATE TABLE building_daily_run (
    building_id   text NOT NULL,
    energy_type   text NOT NULL
                  CHECK (energy_type IN ('electricity', 'natural_gas', 'district_heat')),
    first_day     date NOT NULL,
    last_day      date NOT NULL CHECK (last_day >= first_day),
    energy_kwh    double precision NOT NULL,   -- energy of each day of the run [kWh]
    reading_count integer NOT NULL,            -- of each day (bills: bills covering it)
    covered_hours double precision NOT NULL,   -- of each day [h]
    meter_count   integer NOT NULL,            -- of each day
    source        text NOT NULL CHECK (source IN ('meters', 'bills', 'provisional')),
    PRIMARY KEY (building_id, energy_type, first_day)
);
-- City-wide reads of a few days (the engine's partial months) find the runs reaching them.
CREATE INDEX building_daily_run_last_day_idx ON building_daily_run (last_day, energy_type);

-- The building-days of local days [lo, hi]: building_daily's rows and the runs' days.
CREATE FUNCTION building_days(lo date, hi date)
RETURNS TABLE (building_id text, energy_type text, day date, energy_kwh double precision,
               reading_count integer, covered_hours double precision, meter_count integer,
               source text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT d.building_id, d.energy_type, d.day, d.energy_kwh, d.reading_count, d.covered_hours,
           d.meter_count, d.source
      FROM building_daily d
     WHERE d.day >= lo AND d.day <= hi
    UNION ALL
    SELECT r.building_id, r.energy_type, greatest(r.first_day, lo) + g.i, r.energy_kwh,
           r.reading_count, r.covered_hours, r.meter_count, r.source
      FROM building_daily_run r
     CROSS JOIN LATERAL generate_series(0, least(r.last_day, hi) - greatest(r.first_day, lo))
           AS g (i)
     WHERE r.first_day <= hi AND r.last_day >= lo
$$;

-- Runs are written under the deferred upkeep only (see the header).
CREATE FUNCTION building_daily_run_written_deferred() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('quotawatch.deferred_upkeep', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'building_daily_run is written with the deferred upkeep only '
                        '(ingest/bills_rollups.py)'
              USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER building_daily_run_deferred_only AFTER INSERT OR UPDATE ON building_daily_run
    FOR EACH STATEMENT EXECUTE FUNCTION building_daily_run_written_deferred();

-- Buildings deleted, truncated or renamed: runs and monthly rows count as building_daily
-- rows (the monthly reference, below).
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

-- Emptying building_daily empties the runs with it (they are its billed days).
CREATE FUNCTION building_daily_truncate_runs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    TRUNCATE building_daily_run;
    RETURN NULL;
END
$$;
CREATE TRIGGER building_daily_truncate_runs AFTER TRUNCATE ON building_daily
    FOR EACH STATEMENT EXECUTE FUNCTION building_daily_truncate_runs();

-- The monthly rollup sums each month's days in day order, so that the sums of a rebuild,
-- of the deferred upkeep and of the loader (which sums the days it writes in day order)
-- are the same to the last bit.
CREATE OR REPLACE FUNCTION building_monthly_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM building_monthly;
    INSERT INTO building_monthly (building_id, energy_type, month, energy_kwh, reading_count,
                                  covered_hours, day_count, first_day)
    SELECT building_id, energy_type, date_trunc('month', day)::date,
           sum(energy_kwh ORDER BY day), sum(reading_count),
           sum(covered_hours ORDER BY day), count(*)::int, min(day)
      FROM building_days('-infinity', 'infinity')
     GROUP BY building_id, energy_type, date_trunc('month', day)::date;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION building_daily_deferred_upkeep(
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
    IF whole_from = first_month AND whole_to = after_months - 1 THEN
        RETURN 0;  -- whole months only: the loader writes them all
    END IF;
    INSERT INTO building_monthly (building_id, energy_type, month, energy_kwh, reading_count,
                                  covered_hours, day_count, first_day)
    SELECT g.building_id, g.energy_type, a.month, a.energy_kwh, a.reading_count,
           a.covered_hours, a.day_count, a.first_day
      FROM unnest(buildings, energy_types) AS g (building_id, energy_type)
     CROSS JOIN LATERAL (
        SELECT date_trunc('month', d.day)::date AS month, sum(d.energy_kwh ORDER BY d.day)
               AS energy_kwh, sum(d.reading_count) AS reading_count,
               sum(d.covered_hours ORDER BY d.day) AS covered_hours, count(*)::int AS day_count,
               min(d.day) AS first_day
          FROM (SELECT d.day, d.energy_kwh, d.reading_count, d.covered_hours
                  FROM building_daily d
                 WHERE d.building_id = g.building_id AND d.energy_type = g.energy_type
                   AND d.day >= first_month AND d.day < after_months
                UNION ALL
                SELECT r.first_day + s.i, r.energy_kwh, r.reading_count, r.covered_hours
                  FROM building_daily_run r
                 CROSS JOIN LATERAL generate_series(
                           greatest(r.first_day, first_month) - r.first_day,
                           least(r.last_day, after_months - 1) - r.first_day) AS s (i)
                 WHERE r.building_id = g.building_id AND r.energy_type = g.energy_type
                   AND r.first_day < after_months AND r.last_day >= first_month) d
         WHERE d.day < whole_from OR d.day > whole_to
         GROUP BY date_trunc('month', d.day)::date
     ) a;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

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

-- Billed days already in building_daily move into runs: consecutive days of a building and
-- energy type with equal figures become one run. building_monthly stays as it is (the same
-- days with the same figures), so the move runs without the monthly triggers.
SET LOCAL quotawatch.deferred_upkeep = 'on';
INSERT INTO building_daily_run (building_id, energy_type, first_day, last_day, energy_kwh,
                                reading_count, covered_hours, meter_count, source)
SELECT building_id, energy_type, min(day), max(day), energy_kwh, reading_count,
       covered_hours, meter_count, source
  FROM (SELECT d.*,
               d.day - (row_number() OVER (
                   PARTITION BY building_id, energy_type, energy_kwh, reading_count,
                                covered_hours, meter_count
                   ORDER BY day))::int AS island
          FROM building_daily d
         WHERE d.source = 'bills') s
 GROUP BY building_id, energy_type, energy_kwh, reading_count, covered_hours, meter_count,
          source, island;
DELETE FROM building_daily WHERE source = 'bills';
SET LOCAL quotawatch.deferred_upkeep = 'off';
