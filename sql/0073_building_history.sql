-- Registry history: a building's floor area, type and public-use share take effect from a
-- date. building_history holds every set of values with the local date it applies from
-- ('-infinity' for the values a building was registered with); evaluations use the values
-- in force on the evaluated date, and the building row keeps the latest values.
--
-- building.effective_from is the date given with the current values (the optional
-- effective_from column of a buildings file); a change without a date applies from the day
-- it was made.

ALTER TABLE building ADD COLUMN effective_from date;

CREATE TABLE building_history (
    building_id      text NOT NULL REFERENCES building ON DELETE CASCADE ON UPDATE CASCADE,
    effective_from   date NOT NULL,
    building_type    text NOT NULL REFERENCES building_type,
    floor_area_m2    double precision NOT NULL CHECK (floor_area_m2 > 0),
    public_use_share double precision NOT NULL
                     CHECK (public_use_share >= 0 AND public_use_share <= 1),
    recorded_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor            text NOT NULL DEFAULT audit_actor(),
    PRIMARY KEY (building_id, effective_from)
);

INSERT INTO building_history (building_id, effective_from, building_type, floor_area_m2,
                              public_use_share, actor)
SELECT building_id, '-infinity', building_type, floor_area_m2, public_use_share, 'migration'
  FROM building;

CREATE FUNCTION building_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO building_history (building_id, effective_from, building_type,
                                      floor_area_m2, public_use_share)
        VALUES (NEW.building_id, coalesce(NEW.effective_from, '-infinity'), NEW.building_type,
                NEW.floor_area_m2, NEW.public_use_share);
        RETURN NULL;
    END IF;
    IF (OLD.building_type, OLD.floor_area_m2, OLD.public_use_share)
       IS NOT DISTINCT FROM (NEW.building_type, NEW.floor_area_m2, NEW.public_use_share) THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM building_history WHERE building_id = NEW.building_id) THEN
        INSERT INTO building_history (building_id, effective_from, building_type,
                                      floor_area_m2, public_use_share)
        VALUES (OLD.building_id, coalesce(OLD.effective_from, '-infinity'), OLD.building_type,
                OLD.floor_area_m2, OLD.public_use_share);
    END IF;
    INSERT INTO building_history (building_id, effective_from, building_type, floor_area_m2,
                                  public_use_share)
    VALUES (NEW.building_id, coalesce(NEW.effective_from, current_date), NEW.building_type,
            NEW.floor_area_m2, NEW.public_use_share)
    ON CONFLICT (building_id, effective_from) DO UPDATE
       SET building_type = EXCLUDED.building_type, floor_area_m2 = EXCLUDED.floor_area_m2,
           public_use_share = EXCLUDED.public_use_share, recorded_at = EXCLUDED.recorded_at,
           actor = EXCLUDED.actor;
    RETURN NULL;
END $$;
CREATE TRIGGER building_history_record AFTER INSERT OR UPDATE ON building
    FOR EACH ROW EXECUTE FUNCTION building_history_record();
