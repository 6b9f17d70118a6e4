-- building_monthly triggers apply the changed daily rows as deltas instead of recomputing
-- every touched month from building_daily.
--
-- Why: the nightly load touches one day of every building; recomputing those months re-read
-- ~30 daily rows per building, twice (ingest deletes then re-inserts the touched days):
-- 20,000 buildings took ~14 s instead of ~0.6 s without triggers. A delta reads only the
-- statement's own rows. Sums may then differ from a fresh GROUP BY by floating-point
-- rounding (~1e-16 of the month's total per change); counts and first days stay exact (a
-- month whose last day is deleted is removed; a deleted first day is looked up again).
-- building_monthly_rebuild() and building_monthly_refresh() still recompute exactly.

CREATE OR REPLACE FUNCTION building_monthly_on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
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
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION building_monthly_on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE building_monthly m
       SET energy_kwh = m.energy_kwh - g.energy_kwh,
           reading_count = m.reading_count - g.reading_count,
           covered_hours = m.covered_hours - g.covered_hours,
           day_count = m.day_count - g.day_count
      FROM (SELECT building_id, energy_type, date_trunc('month', day)::date AS month,
                   sum(energy_kwh) AS energy_kwh, sum(reading_count) AS reading_count,
                   sum(covered_hours) AS covered_hours, count(*)::int AS day_count
              FROM old_rows
             GROUP BY building_id, energy_type, date_trunc('month', day)::date) g
     WHERE m.building_id = g.building_id AND m.energy_type = g.energy_type
       AND m.month = g.month;
    PERFORM building_monthly_tidy(array_agg(building_id), array_agg(energy_type),
                                  array_agg(day))
       FROM old_rows
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION building_monthly_on_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE building_monthly m
       SET energy_kwh = m.energy_kwh - g.energy_kwh,
           reading_count = m.reading_count - g.reading_count,
           covered_hours = m.covered_hours - g.covered_hours,
           day_count = m.day_count - g.day_count
      FROM (SELECT building_id, energy_type, date_trunc('month', day)::date AS month,
                   sum(energy_kwh) AS energy_kwh, sum(reading_count) AS reading_count,
                   sum(covered_hours) AS covered_hours, count(*)::int AS day_count
              FROM old_rows
             GROUP BY building_id, energy_type, date_trunc('month', day)::date) g
     WHERE m.building_id = g.building_id AND m.energy_type = g.energy_type
       AND m.month = g.month;
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
    PERFORM building_monthly_tidy(array_agg(building_id), array_agg(energy_type),
                                  array_agg(day))
       FROM old_rows
     HAVING count(*) > 0;
    RETURN NULL;
END
$$;

-- After daily rows (building, energy type, day) left their month: remove months without
-- days, and look up the first day again where it was one of the rows that left.
CREATE FUNCTION building_monthly_tidy(p_building_id text[], p_energy_type text[],
                                      p_day date[])
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DELETE FROM building_monthly m
     USING (SELECT DISTINCT building_id, energy_type, date_trunc('month', day)::date AS month
              FROM unnest(p_building_id, p_energy_type, p_day) AS t (building_id,
                                                                    energy_type, day)) g
     WHERE m.building_id = g.building_id AND m.energy_type = g.energy_type
       AND m.month = g.month AND m.day_count <= 0;
    UPDATE building_monthly m
       SET first_day = (SELECT min(d.day) FROM building_daily d
                         WHERE d.building_id = m.building_id
                           AND d.energy_type = m.energy_type AND d.day >= m.month
                           AND d.day < (m.month + interval '1 month')::date)
      FROM (SELECT DISTINCT building_id, energy_type, day
              FROM unnest(p_building_id, p_energy_type, p_day) AS t (building_id,
                                                                    energy_type, day)) o
     WHERE m.building_id = o.building_id AND m.energy_type = o.energy_type
       AND m.first_day = o.day;
$$;
