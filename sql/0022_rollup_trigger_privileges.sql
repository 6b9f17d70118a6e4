-- The trigger functions of 0020 (building_monthly) and 0021 (evaluation_result references)
-- run with the privileges of their owner, as the foreign-key checks and cascades they stand
-- for do: a role that may write building_daily needs no privilege on building_monthly, a
-- role that stores evaluations needs no UPDATE/DELETE privilege on building for the SHARE
-- lock, and deleting a building or run removes its results whatever the deleting role.
-- search_path is pinned to the one the migrations run with.

ALTER FUNCTION building_monthly_refresh(text[], text[], date[])
    SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION building_monthly_on_insert() SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION building_monthly_on_delete() SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION building_monthly_on_update() SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION building_monthly_on_truncate() SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION evaluation_result_check_references()
    SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION evaluation_result_delete_of_buildings()
    SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION evaluation_result_delete_of_runs() SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION evaluation_result_truncate() SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION evaluation_result_keep_building_ids()
    SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION evaluation_result_keep_run_ids() SECURITY DEFINER SET search_path FROM CURRENT;
