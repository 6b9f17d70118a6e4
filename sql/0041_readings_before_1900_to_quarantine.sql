-- Readings dated before 1900 out of reading, into the quarantine (implausible_timestamp).
--
-- Before the implausible_timestamp check, a reading stamped 0001-01-01T00:00:00Z (a gateway
-- with an unset clock) was stored; its chunk's range then lies before year 1 and every later
-- load failed reading the chunk list ("timestamp too small"). No reading before 1900 is
-- real: such stored readings become quarantine rows of their file (line unknown: the
-- quarantine's line 1 and details.line_number_unknown), their file's counts move from
-- loaded to quarantined, their chunks and rollups before 1900 are dropped, and a cumulative
-- reading whose use was counted from one becomes a baseline. Readings from 1900 on stay;
-- new ones before [rules.ingest] earliest_reading_date are quarantined on load. When rows
-- were moved a NOTICE says so: run `quotawatch rollups rebuild` afterwards.

DO $$
DECLARE
    moved bigint;
BEGIN
    WITH old AS (
        DELETE FROM reading r
         WHERE r.reading_at < timestamptz '1900-01-01 00:00:00+00'
        RETURNING r.meter_key, r.reading_at, r.value, r.unit, r.energy_kwh, r.file_id
    ), kept AS (
        INSERT INTO quarantine (file_id, line_number, raw_row, reason_code, message, meter_id,
                                details)
        SELECT o.file_id, 1,
               concat_ws(',', m.meter_id,
                         to_char(o.reading_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                         coalesce(o.value, o.energy_kwh), coalesce(o.unit, 'kWh')),
               'implausible_timestamp',
               'timestamp is before 1900-01-01: moved out of the stored readings (sql/0041)',
               m.meter_id,
               jsonb_build_object('code', 'reading.implausible_timestamp',
                                  'line_number_unknown', true,
                                  'moved_from_reading', true)
          FROM old o JOIN meter m ON m.meter_key = o.meter_key
        RETURNING file_id
    ), per_file AS (
        SELECT file_id, count(*) AS n FROM kept GROUP BY file_id
    ), counted AS (
        UPDATE ingest_file f
           SET rows_loaded = greatest(f.rows_loaded - p.n, 0),
               rows_quarantined = f.rows_quarantined + p.n
          FROM per_file p
         WHERE f.file_id = p.file_id
        RETURNING p.n
    )
    SELECT coalesce(sum(n), 0) INTO moved FROM counted;

    UPDATE reading
       SET energy_kwh = NULL, since_at = NULL
     WHERE since_at < timestamptz '1900-01-01 00:00:00+00';
    DELETE FROM meter_daily WHERE day < date '1900-01-01';
    DELETE FROM building_daily WHERE day < date '1900-01-01';
    DELETE FROM reading_flag WHERE start_at < timestamptz '1900-01-01 00:00:00+00';
    PERFORM drop_chunks('reading', older_than => timestamptz '1900-01-01 00:00:00+00');
    IF moved > 0 THEN
        RAISE NOTICE '% readings dated before 1900 moved to the quarantine; run `quotawatch rollups rebuild`', moved;
    END IF;
END $$;
