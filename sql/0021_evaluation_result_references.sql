-- evaluation_result: the references to building and evaluation_run are checked once per
-- statement instead of once per row.
--
-- Why: an evaluation stores one row per building and basis (20,000+ rows a night) with one
-- COPY. The two foreign keys ran a lookup with a FOR KEY SHARE row lock per row and made up
-- more than half of the store time (20,000 buildings: ~0.9 s with them, ~0.4 s without).
-- The same guarantees, per statement:
-- - inserted/updated rows must name an existing building and run (foreign_key_violation
--   otherwise); the building table is locked in SHARE mode until the transaction ends, so a
--   building cannot be deleted or renamed under rows not yet committed (one table lock
--   instead of one row lock per row); the runs named are locked FOR KEY SHARE;
-- - deleting a building or a run deletes its results (was ON DELETE CASCADE), TRUNCATE too;
-- - changing the id of a building or run that still has results is refused (was NO ACTION).
-- The trigger functions run with their owner's privileges, as the foreign-key checks and
-- cascades they stand for do (a role that stores evaluations needs no UPDATE/DELETE
-- privilege on building for the SHARE lock); search_path is pinned to the migrations' one.

ALTER TABLE evaluation_result DROP CONSTRAINT evaluation_result_building_id_fkey;
ALTER TABLE evaluation_result DROP CONSTRAINT evaluation_result_evaluation_id_fkey;

CREATE FUNCTION evaluation_result_check_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    missing text;
BEGIN
    LOCK TABLE building IN SHARE MODE;
    PERFORM 1 FROM evaluation_run r
      WHERE r.evaluation_id IN (SELECT evaluation_id FROM new_rows)
        FOR KEY SHARE;
    SELECT n.building_id INTO missing
      FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.building_id = n.building_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'evaluation_result: building % does not exist', missing
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.evaluation_id::text INTO missing
      FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM evaluation_run r WHERE r.evaluation_id = n.evaluation_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'evaluation_result: evaluation run % does not exist', missing
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER evaluation_result_references_insert AFTER INSERT ON evaluation_result
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_check_references();
CREATE TRIGGER evaluation_result_references_update AFTER UPDATE ON evaluation_result
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_check_references();

-- Deleting buildings or runs deletes their results.
CREATE FUNCTION evaluation_result_delete_of_buildings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM evaluation_result r USING old_rows o WHERE r.building_id = o.building_id;
    RETURN NULL;
END
$$;
CREATE FUNCTION evaluation_result_delete_of_runs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM evaluation_result r USING old_rows o WHERE r.evaluation_id = o.evaluation_id;
    RETURN NULL;
END
$$;
CREATE FUNCTION evaluation_result_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    TRUNCATE evaluation_result;
    RETURN NULL;
END
$$;
CREATE TRIGGER evaluation_result_cascade_building AFTER DELETE ON building
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_delete_of_buildings();
CREATE TRIGGER evaluation_result_cascade_run AFTER DELETE ON evaluation_run
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_delete_of_runs();
CREATE TRIGGER evaluation_result_truncate_building AFTER TRUNCATE ON building
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_truncate();
CREATE TRIGGER evaluation_result_truncate_run AFTER TRUNCATE ON evaluation_run
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_truncate();

-- A building or run id that still has results cannot change.
CREATE FUNCTION evaluation_result_keep_building_ids() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    gone text;
BEGIN
    SELECT o.building_id INTO gone
      FROM old_rows o
     WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.building_id = o.building_id)
       AND EXISTS (SELECT 1 FROM evaluation_result r WHERE r.building_id = o.building_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'building %: id is still referenced by evaluation_result', gone
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION evaluation_result_keep_run_ids() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    gone bigint;
BEGIN
    SELECT o.evaluation_id INTO gone
      FROM old_rows o
     WHERE NOT EXISTS (SELECT 1 FROM evaluation_run r WHERE r.evaluation_id = o.evaluation_id)
       AND EXISTS (SELECT 1 FROM evaluation_result r WHERE r.evaluation_id = o.evaluation_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'evaluation run %: id is still referenced by evaluation_result', gone
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER evaluation_result_keep_building_ids AFTER UPDATE ON building
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_keep_building_ids();
CREATE TRIGGER evaluation_result_keep_run_ids AFTER UPDATE ON evaluation_run
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evaluation_result_keep_run_ids();
