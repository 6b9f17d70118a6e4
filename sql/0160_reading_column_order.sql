-- reading rebuilt with its columns in alignment order: 8 bytes less per stored reading.
--
-- PostgreSQL stores a row's columns in their declared order, each aligned to its type
-- (8 bytes for timestamptz, double precision and bigint). The order of sql/0001 left two
-- holes in every row: meter_key (4 B) + 4 B of padding before reading_at, and flags (2 B) +
-- 6 B of padding before file_id: 40 B of data where 32 B hold it. The order here puts the
-- int4 and the int2 together (2 B of padding left), then the 8-byte columns that are never
-- NULL, then the nullable ones (NULL for most readings, so stored as nothing), the text last
-- (a short text needs no alignment, a timestamp after it would). A reading sent in kWh:
-- 24 B header + 32 B data + 4 B line pointer = 60 B of heap (was 68), 136 rows a page
-- (was 120); index, values and every column name unchanged. Figures: bench/README.md,
-- "Storage: where a reading's bytes go".
--
-- PostgreSQL cannot reorder columns in place: a new `reading` hypertable (same chunk
-- interval, read from the old one; no time-only index, as sql/0011) is filled chunk by
-- chunk, each chunk's rows in primary-key order (meter, time: what per-meter reads want),
-- without index upkeep; the old table is dropped and the primary key is then built sorted,
-- chunk by chunk (a dense index, as a backfill's). The view `reading_as_sent` is recreated,
-- column comments, privileges, owner, storage parameters and statistics targets carried
-- over. The meter delete guard (meter_keep_readings, sql/0011) names `reading` in PL/pgSQL
-- and needs nothing. Anything else that depends on `reading` (a view, an index, a trigger,
-- a policy, a function with a SQL-standard body, a TimescaleDB job) stops the migration
-- with its name before anything is changed: this file only recreates what it knows.
--
-- Maintenance window: the whole migration is one transaction holding an exclusive lock on
-- `reading` (dashboard pages that read raw readings wait; stop the scheduler, as for every
-- upgrade). Measured on the 2-core machine of bench/README.md (bench/storage.py, 2.6-20 M
-- readings): 1.6-3.1 s per million readings; plan on up to 4 s per million (20 minutes at
-- 300 M readings; more when the database is larger than memory and the disk is slow). It
-- needs free disk for a second copy of the readings hypertable (plus its WAL) until the
-- commit. docs/operations.md, "Migrations that rewrite readings".

DO $$
DECLARE
    old_table   regclass := 'reading'::regclass;
    old_view    regclass := 'reading_as_sent'::regclass;
    unknown     text;
BEGIN
    -- Whatever depends on the table or its view besides what this file recreates: other
    -- views, SQL-standard function bodies, indexes, triggers, policies, publications,
    -- extended statistics, foreign keys.
    SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), '; ')
      INTO unknown
      FROM pg_depend d
     WHERE d.refclassid = 'pg_class'::regclass
       AND d.refobjid IN (old_table, old_view)
       AND d.deptype IN ('n', 'a')
       AND NOT (d.classid = 'pg_constraint'::regclass
                AND d.objid IN (SELECT oid FROM pg_constraint
                                 WHERE conrelid = old_table
                                   AND conname IN ('reading_pkey', 'reading_value_with_unit')))
       AND NOT (d.classid = 'pg_trigger'::regclass
                AND d.objid IN (SELECT oid FROM pg_trigger
                                 WHERE tgrelid = old_table AND tgname = 'ts_insert_blocker'))
       AND NOT (d.classid = 'pg_attrdef'::regclass
                AND d.objid IN (SELECT oid FROM pg_attrdef WHERE adrelid = old_table))
       AND NOT (d.classid = 'pg_rewrite'::regclass
                AND d.objid IN (SELECT oid FROM pg_rewrite WHERE ev_class = old_view))
       -- chunks (children of the hypertable)
       AND NOT (d.classid = 'pg_class'::regclass
                AND d.objid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = old_table));
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'sql/0160 rebuilds reading and would not recreate what depends on it: %', unknown
              USING HINT = 'drop it, migrate, and create it again';
    END IF;

    SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), '; ')
      INTO unknown
      FROM pg_depend d
     WHERE d.refclassid = 'pg_type'::regclass
       AND d.refobjid IN (SELECT reltype FROM pg_class WHERE oid IN (old_table, old_view))
       AND d.deptype <> 'i';
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'sql/0160 rebuilds reading; its row type is used by: %', unknown
              USING HINT = 'drop it, migrate, and create it again';
    END IF;

    IF (SELECT relrowsecurity FROM pg_class WHERE oid = old_table) THEN
        RAISE EXCEPTION 'sql/0160 rebuilds reading, which has row-level security enabled'
              USING HINT = 'disable it, migrate, and enable it again';
    END IF;

    SELECT string_agg(format('%s (job %s)', proc_name, job_id), ', ')
      INTO unknown
      FROM timescaledb_information.jobs
     WHERE (hypertable_schema, hypertable_name)
           = (SELECT n.nspname::text, c.relname::text
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.oid = old_table);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'sql/0160 rebuilds reading, which has TimescaleDB jobs: %', unknown
              USING HINT = 'remove them, migrate, and add them again';
    END IF;
END $$;

ALTER TABLE reading RENAME TO reading_before_0160;
ALTER VIEW reading_as_sent RENAME TO reading_as_sent_before_0160;

CREATE TABLE reading (
    meter_key  integer NOT NULL,
    -- Bit flags for suspicious-but-possible data (1 = zero run, 2 = spike).
    flags      smallint NOT NULL DEFAULT 0,
    -- Interval meters: start of the interval. Cumulative meters: instant of the register read.
    reading_at timestamptz NOT NULL,
    file_id    bigint NOT NULL,
    -- Energy in kWh with the multiplier applied: the interval's use for interval meters, the
    -- use since the previous reading for cumulative meters (NULL for a baseline reading).
    energy_kwh double precision,
    -- Value as sent, in `unit` (register value for cumulative meters); NULL with unit for a
    -- reading sent in kWh whose value is its energy_kwh (sql/0030).
    value      double precision,
    -- Cumulative meters: instant of the previous stored reading that energy_kwh counts from;
    -- NULL for interval meters and for baseline readings.
    since_at   timestamptz,
    unit       text,
    CONSTRAINT reading_value_with_unit CHECK ((value IS NULL) = (unit IS NULL))
);
SELECT create_hypertable(
    'reading', 'reading_at',
    chunk_time_interval => (
        SELECT d.time_interval
          FROM timescaledb_information.dimensions d
         WHERE format('%I.%I', d.hypertable_schema, d.hypertable_name)::regclass
               = 'reading_before_0160'::regclass
           AND d.dimension_number = 1),
    create_default_indexes => false);

-- Comments, privileges, owner, storage parameters and statistics targets of the old table
-- and view, carried over before the copy (chunks take the hypertable's privileges and
-- storage parameters when they are created; the view is recreated below, its part waits in
-- a temporary table).
CREATE TEMPORARY TABLE reading_0160_view ON COMMIT DROP AS
SELECT relowner, relacl FROM pg_class WHERE oid = 'reading_as_sent_before_0160'::regclass;

DO $$
DECLARE
    old_table regclass := 'reading_before_0160'::regclass;
    item      record;
BEGIN
    FOR item IN
        SELECT a.attname, a.attstattarget, col_description(old_table, a.attnum) AS comment
          FROM pg_attribute a
         WHERE a.attrelid = old_table AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        IF item.comment IS NOT NULL THEN
            EXECUTE format('COMMENT ON COLUMN reading.%I IS %L', item.attname, item.comment);
        END IF;
        IF item.attstattarget >= 0 THEN
            EXECUTE format('ALTER TABLE reading ALTER COLUMN %I SET STATISTICS %s',
                           item.attname, item.attstattarget);
        END IF;
    END LOOP;
    IF obj_description(old_table, 'pg_class') IS NOT NULL THEN
        EXECUTE format('COMMENT ON TABLE reading IS %L', obj_description(old_table, 'pg_class'));
    END IF;
    FOR item IN
        SELECT a.privilege_type, a.grantee, a.is_grantable
          FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
         WHERE c.oid = old_table AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON reading TO %s%s', item.privilege_type,
                       CASE WHEN item.grantee = 0 THEN 'PUBLIC'
                            ELSE quote_ident(pg_get_userbyid(item.grantee)) END,
                       CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    IF (SELECT relowner FROM pg_class WHERE oid = old_table)
       <> (SELECT relowner FROM pg_class WHERE oid = 'reading'::regclass) THEN
        EXECUTE format('ALTER TABLE reading OWNER TO %I',
                       (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = old_table));
    END IF;
    IF (SELECT reloptions FROM pg_class WHERE oid = old_table) IS NOT NULL THEN
        EXECUTE format('ALTER TABLE reading SET (%s)',
                       (SELECT array_to_string(reloptions, ', ')
                          FROM pg_class WHERE oid = old_table));
    END IF;
END $$;

-- The readings, chunk by chunk in time order, each chunk's rows in primary-key order.
DO $$
DECLARE
    chunk text;
BEGIN
    FOR chunk IN
        SELECT format('%I.%I', c.chunk_schema, c.chunk_name)
          FROM timescaledb_information.chunks c
         WHERE format('%I.%I', c.hypertable_schema, c.hypertable_name)::regclass
               = 'reading_before_0160'::regclass
         ORDER BY c.range_start
    LOOP
        EXECUTE format(
            'INSERT INTO reading (meter_key, flags, reading_at, file_id, energy_kwh, value, '
            'since_at, unit) '
            'SELECT meter_key, flags, reading_at, file_id, energy_kwh, value, since_at, unit '
            'FROM %s ORDER BY meter_key, reading_at', chunk);
    END LOOP;
END $$;

DROP VIEW reading_as_sent_before_0160;
DROP TABLE reading_before_0160;

-- Built once per chunk over rows already in key order: a dense index.
ALTER TABLE reading ADD CONSTRAINT reading_pkey PRIMARY KEY (meter_key, reading_at);

CREATE VIEW reading_as_sent AS
SELECT r.meter_key, m.meter_id, r.reading_at,
       coalesce(r.value, r.energy_kwh) AS value,
       coalesce(r.unit, 'kWh') AS unit,
       r.energy_kwh, r.flags, r.file_id, r.since_at
  FROM reading r
  JOIN meter m ON m.meter_key = r.meter_key;
COMMENT ON VIEW reading_as_sent IS
    'Every reading with its value and unit as sent (reading stores NULL for kWh equal to energy_kwh)';

DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT a.privilege_type, a.grantee, a.is_grantable
          FROM reading_0160_view v CROSS JOIN LATERAL aclexplode(v.relacl) a
         WHERE a.grantee <> v.relowner
    LOOP
        EXECUTE format('GRANT %s ON reading_as_sent TO %s%s', item.privilege_type,
                       CASE WHEN item.grantee = 0 THEN 'PUBLIC'
                            ELSE quote_ident(pg_get_userbyid(item.grantee)) END,
                       CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    IF (SELECT relowner FROM reading_0160_view)
       <> (SELECT relowner FROM pg_class WHERE oid = 'reading_as_sent'::regclass) THEN
        EXECUTE format('ALTER VIEW reading_as_sent OWNER TO %I',
                       (SELECT pg_get_userbyid(relowner) FROM reading_0160_view));
    END IF;
END $$;

ANALYZE reading;
