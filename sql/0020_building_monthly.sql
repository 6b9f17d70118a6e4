-- Monthly rollup of building_daily, kept current by statement-level triggers.
--
-- One row per building, energy type and local month (``month`` = the month's first local
-- day) with the sums of the month's building_daily rows. The quota engine reads full months
-- from here and only the partial month around the as-of date from building_daily, so an
-- evaluation no longer aggregates two years of daily rows.
--
-- The triggers recompute only the (building, energy type, month) groups a statement touched
-- (from its transition tables), from building_daily itself: the table is always equal to a
-- fresh GROUP BY of building_daily, whatever wrote the daily rows (ingest needs no change).

CREATE TABLE building_monthly (
    building_id   text NOT NULL REFERENCES building ON DELETE CASCADE,
    energy_type   text NOT NULL,
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    energy_kwh    double precision NOT NULL,   -- Σ daily energy [kWh]
    reading_count bigint NOT NULL,             -- Σ daily reading counts
    covered_hours double precision NOT NULL,   -- Σ daily covered hours [h]
    day_count     integer NOT NULL,            -- days with a building_daily row
    first_day     date NOT NULL,               -- first day with a building_daily row
    PRIMARY KEY (building_id, energy_type, month)
);
CREATE INDEX building_monthly_month_idx ON building_monthly (month, energy_type);

-- Recompute the given groups from building_daily: upsert groups that still have daily rows,
-- delete those that have none left.
CREATE FUNCTION building_monthly_refresh(p_building_id text[], p_energy_type text[],
                                         p_month date[])
RETURNS void LANGUAGE sql AS $$
    WITH touched AS (
        SELECT DISTINCT t.building_id, t.energy_type, t.month
          FROM unnest(p_building_id, p_energy_type, p_month) AS t (building_id, energy_type,
                                                                  month)
    ), fresh AS (
        SELECT t.building_id, t.energy_type, t.month, sum(d.energy_kwh) AS energy_kwh,
               sum(d.reading_count) AS reading_count, sum(d.covered_hours) AS covered_hours,
               count(*)::int AS day_count, min(d.day) AS first_day
          FROM touched t
          JOIN building_daily d
            ON d.building_id = t.building_id AND d.energy_type = t.energy_type
           AND d.day >= t.month AND d.day < (t.month + interval '1 month')::date
         GROUP BY t.building_id, t.energy_type, t.month
    ), gone AS (
        DELETE FROM building_monthly m
         USING touched t
         WHERE m.building_id = t.building_id AND m.energy_type = t.energy_type
           AND m.month = t.month
           AND NOT EXISTS (SELECT 1 FROM fresh f
                            WHERE f.building_id = t.building_id
                              AND f.energy_type = t.energy_type AND f.month = t.month)
    )
    INSERT INTO building_monthly (building_id, energy_type, month, energy_kwh, reading_count,
                                  covered_hours, day_count, first_day)
    SELECT building_id, energy_type, month, energy_kwh, reading_count, covered_hours,
           day_count, first_day
      FROM fresh
    ON CONFLICT (building_id, energy_type, month) DO UPDATE
       SET energy_kwh = EXCLUDED.energy_kwh, reading_count = EXCLUDED.reading_count,
           covered_hours = EXCLUDED.covered_hours, day_count = EXCLUDED.day_count,
           first_day = EXCLUDED.first_day
$$;

-- Rebuild the whole table from building_daily (backfill; bulk loads that disable the
-- triggers call it afterwards).
CREATE FUNCTION building_monthly_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM building_monthly;
    INSERT INTO building_monthly (building_id, energy_type, month, energy_kwh, reading_count,
                                  covered_hours, day_count, first_day)
    SELECT building_id, energy_type, date_trunc('month', day)::date, sum(energy_kwh),
           sum(reading_count), sum(covered_hours), count(*)::int, min(day)
      FROM building_daily
     GROUP BY building_id, energy_type, date_trunc('month', day)::date;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

CREATE FUNCTION building_monthly_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM building_monthly_refresh(array_agg(building_id), array_agg(energy_type),
                                     array_agg(month))
       FROM (SELECT DISTINCT building_id, energy_type, date_trunc('month', day)::date AS month
               FROM new_rows) t
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION building_monthly_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM building_monthly_refresh(array_agg(building_id), array_agg(energy_type),
                                     array_agg(month))
       FROM (SELECT DISTINCT building_id, energy_type, date_trunc('month', day)::date AS month
               FROM old_rows) t
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION building_monthly_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM building_monthly_refresh(array_agg(building_id), array_agg(energy_type),
                                     array_agg(month))
       FROM (SELECT building_id, energy_type, date_trunc('month', day)::date AS month
               FROM old_rows
             UNION
             SELECT building_id, energy_type, date_trunc('month', day)::date
               FROM new_rows) t
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION building_monthly_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM building_monthly;
    RETURN NULL;
END
$$;

CREATE TRIGGER building_monthly_insert AFTER INSERT ON building_daily
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION building_monthly_on_insert();
CREATE TRIGGER building_monthly_delete AFTER DELETE ON building_daily
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION building_monthly_on_delete();
CREATE TRIGGER building_monthly_update AFTER UPDATE ON building_daily
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION building_monthly_on_update();
CREATE TRIGGER building_monthly_truncate AFTER TRUNCATE ON building_daily
    FOR EACH STATEMENT EXECUTE FUNCTION building_monthly_on_truncate();

SELECT building_monthly_rebuild();
