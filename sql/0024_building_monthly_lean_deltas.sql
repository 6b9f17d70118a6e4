-- building_monthly: leaner delete/update deltas and room for HOT updates.
--
-- Each delete applies its delta in one UPDATE that also looks up a new first day, only for
-- the months whose first day was deleted, and collects the months left without days, which
-- are then removed (0023 joined the whole statement's rows twice more for that). A fill
-- factor of 80 leaves room on each page so these updates, which change no indexed column,
-- can stay on the page (HOT) instead of adding index entries; the table is rebuilt once so
-- existing pages get that room.

ALTER TABLE building_monthly SET (fillfactor = 80);

CREATE OR REPLACE FUNCTION building_monthly_on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    empty_b text[];
    empty_e text[];
    empty_m date[];
BEGIN
    WITH g AS (
        SELECT building_id, energy_type, date_trunc('month', day)::date AS month,
               sum(energy_kwh) AS energy_kwh, sum(reading_count) AS reading_count,
               sum(covered_hours) AS covered_hours, count(*)::int AS day_count,
               min(day) AS first_day
          FROM old_rows
         GROUP BY building_id, energy_type, date_trunc('month', day)::date
    ), u AS (
        UPDATE building_monthly m
           SET energy_kwh = m.energy_kwh - g.energy_kwh,
               reading_count = m.reading_count - g.reading_count,
               covered_hours = m.covered_hours - g.covered_hours,
               day_count = m.day_count - g.day_count,
               first_day = CASE
                   WHEN g.first_day = m.first_day AND m.day_count > g.day_count
                   THEN (SELECT min(d.day) FROM building_daily d
                          WHERE d.building_id = m.building_id
                            AND d.energy_type = m.energy_type AND d.day >= m.month
                            AND d.day < (m.month + interval '1 month')::date)
                   ELSE m.first_day END
          FROM g
         WHERE m.building_id = g.building_id AND m.energy_type = g.energy_type
           AND m.month = g.month
        RETURNING m.building_id, m.energy_type, m.month, m.day_count
    )
    SELECT array_agg(building_id), array_agg(energy_type), array_agg(month)
      INTO empty_b, empty_e, empty_m
      FROM u
     WHERE day_count <= 0;
    IF empty_b IS NOT NULL THEN
        DELETE FROM building_monthly m
         USING unnest(empty_b, empty_e, empty_m) AS t (building_id, energy_type, month)
         WHERE m.building_id = t.building_id AND m.energy_type = t.energy_type
           AND m.month = t.month;
    END IF;
    RETURN NULL;
END
$$;

-- An update is a delete of the old rows and an insert of the new ones. The new rows are
-- added first, so a month keeps its row when its days only change values.
CREATE OR REPLACE FUNCTION building_monthly_on_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    empty_b text[];
    empty_e text[];
    empty_m date[];
BEGIN
    INSERT INTO building_monthly AS m (building_id, energy_type, month, energy_kwh,
                                       reading_count, covered_hours, day_count, first_day)
    SELECT building_id, energy_type, date_trunc('month', day)::date, sum(energy_kwh),
           sum(reading_count), sum(covered_hours), count(*)::int, min(day)
      FROM new_rows
     GROUP BY building_id, energy_type, date_trunc('month', day)::date
    ON CONFLICT (building_id, energy_type, month) DO UPDATE
       SET energy_kwh = m.energy_kwh + EXCLUDED.energy_kwh,
           reading_count = m.reading_count + EXCLUDED.reading_count,
           covered_hours = m.covered_hours + EXCLUDED.covered_hours,
           day_count = m.day_count + EXCLUDED.day_count,
           first_day = least(m.first_day, EXCLUDED.first_day);
    WITH g AS (
        SELECT building_id, energy_type, date_trunc('month', day)::date AS month,
               sum(energy_kwh) AS energy_kwh, sum(reading_count) AS reading_count,
               sum(covered_hours) AS covered_hours, count(*)::int AS day_count,
               min(day) AS first_day
          FROM old_rows
         GROUP BY building_id, energy_type, date_trunc('month', day)::date
    ), u AS (
        UPDATE building_monthly m
           SET energy_kwh = m.energy_kwh - g.energy_kwh,
               reading_count = m.reading_count - g.reading_count,
               covered_hours = m.covered_hours - g.covered_hours,
               day_count = m.day_count - g.day_count,
               first_day = CASE
                   WHEN g.first_day = m.first_day AND m.day_count > g.day_count
                   THEN (SELECT min(d.day) FROM building_daily d
                          WHERE d.building_id = m.building_id
                            AND d.energy_type = m.energy_type AND d.day >= m.month
                            AND d.day < (m.month + interval '1 month')::date)
                   ELSE m.first_day END
          FROM g
         WHERE m.building_id = g.building_id AND m.energy_type = g.energy_type
           AND m.month = g.month
        RETURNING m.building_id, m.energy_type, m.month, m.day_count
    )
    SELECT array_agg(building_id), array_agg(energy_type), array_agg(month)
      INTO empty_b, empty_e, empty_m
      FROM u
     WHERE day_count <= 0;
    IF empty_b IS NOT NULL THEN
        DELETE FROM building_monthly m
         USING unnest(empty_b, empty_e, empty_m) AS t (building_id, energy_type, month)
         WHERE m.building_id = t.building_id AND m.energy_type = t.energy_type
           AND m.month = t.month;
    END IF;
    RETURN NULL;
END
$$;

SELECT building_monthly_rebuild();
