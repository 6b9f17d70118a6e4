-- Operations: the scheduler's heartbeat and the log of backups.
--
-- scheduler_heartbeat: one row, written by the scheduler that holds the scheduler lock, every
-- few seconds while its lock connection is alive. The dashboard's data-quality page and
-- /healthz read it; a stale beat means no scheduler is running jobs.
CREATE TABLE scheduler_heartbeat (
    singleton              boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    hostname               text NOT NULL,
    pid                    integer NOT NULL,
    started_at             timestamptz NOT NULL,
    beat_at                timestamptz NOT NULL DEFAULT now(),
    inbox_interval_minutes double precision NOT NULL CHECK (inbox_interval_minutes > 0),
    reconnects             integer NOT NULL DEFAULT 0
);

-- backup_log: `quotawatch db backup` records itself here just before pg_dump starts, so every
-- backup archive carries the TimescaleDB version it was taken with (restore creates the
-- extension at that version before loading the data).
CREATE TABLE backup_log (
    backup_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at            timestamptz NOT NULL DEFAULT now(),
    timescaledb_version text NOT NULL,
    postgres_version    text NOT NULL,
    migration_level     integer NOT NULL,
    hostname            text,
    file_name           text
);
