"""SQL of the operations side: the scheduler's heartbeat, health, metrics and the backup log.

Advisory lock keys are bigints; in ``pg_locks`` a bigint key shows as ``classid`` (high 32
bits) and ``objid`` (low 32 bits) with ``objsubid = 1``. Parameters ``high``/``low`` are those
halves (see :func:`lock_key_halves`).
"""

from __future__ import annotations

# The session-level advisory lock that the one scheduler process holds ("QWSCHD").
SCHEDULER_LOCK_KEY = 0x5157_5343_4844
# Names of the files the inbox loads (readings and, by their header, other data files).
INBOX_SUFFIXES = (".csv", ".csv.gz")


def lock_key_halves(key: int) -> dict[str, int]:
    """The ``pg_locks`` columns (classid, objid) of a bigint advisory lock key."""
    return {"high": key >> 32, "low": key & 0xFFFFFFFF}


# Held by this session? Run on the lock's own connection (pg_backend_pid()).
LOCK_HELD_BY_ME = """
SELECT EXISTS (
    SELECT 1 FROM pg_locks
     WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND objsubid = 1
       AND classid::bigint = %(high)s AND objid::bigint = %(low)s
) AS held
"""

# Held by any session on this database (the key is per database)?
LOCK_HOLDER = """
SELECT l.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start
  FROM pg_locks l
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
   AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 LIMIT 1
"""

SET_APPLICATION_NAME = "SELECT set_config('application_name', %s, false)"

HEARTBEAT = """
INSERT INTO scheduler_heartbeat
       (singleton, hostname, pid, started_at, beat_at, inbox_interval_minutes, reconnects)
VALUES (true, %(hostname)s, %(pid)s, %(started_at)s, now(), %(interval)s, %(reconnects)s)
ON CONFLICT (singleton) DO UPDATE
   SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at,
       beat_at = EXCLUDED.beat_at, inbox_interval_minutes = EXCLUDED.inbox_interval_minutes,
       reconnects = EXCLUDED.reconnects
"""

LAST_HEARTBEAT = """
SELECT hostname, pid, started_at, beat_at, inbox_interval_minutes, reconnects,
       extract(epoch FROM now() - beat_at)::float8 AS age_s
  FROM scheduler_heartbeat
"""

MIGRATION_LEVEL = "SELECT coalesce(max(version), 0) AS level FROM schema_migration"

# The last run of a job and the last successful one, with ages in seconds.
JOB_STATE = """
SELECT last.job_id, last.started_at, last.finished_at, last.outcome,
       extract(epoch FROM now() - coalesce(last.finished_at, last.started_at))::float8 AS age_s,
       ok.finished_at AS last_success_at,
       extract(epoch FROM now() - ok.finished_at)::float8 AS success_age_s
  FROM (SELECT * FROM job_run WHERE job_id = %(job_id)s
         ORDER BY started_at DESC, job_run_id DESC LIMIT 1) last
  LEFT JOIN LATERAL (
        SELECT finished_at FROM job_run
         WHERE job_id = %(job_id)s AND outcome = 'succeeded'
         ORDER BY finished_at DESC LIMIT 1) ok ON true
"""

# Age [s] of the last successful run of every job that ever ran.
JOB_SUCCESS_AGES = """
SELECT job_id, extract(epoch FROM now() - max(finished_at))::float8 AS age_s
  FROM job_run
 WHERE outcome = 'succeeded'
 GROUP BY job_id
 ORDER BY job_id
"""

LATEST_EVALUATION = "SELECT max(computed_at) AS latest FROM evaluation_run"

# Durations [s] of the finished nightly evaluation runs (newest first, bounded).
EVALUATION_DURATIONS = """
SELECT extract(epoch FROM finished_at - started_at)::float8 AS seconds
  FROM job_run
 WHERE job_id = 'nightly_evaluation' AND outcome = 'succeeded' AND finished_at IS NOT NULL
 ORDER BY finished_at DESC
 LIMIT %(limit)s
"""

# Rows of every ingest by outcome, from the per-file ledger (files loaded or rejected).
ROWS_BY_OUTCOME = """
SELECT coalesce(sum(rows_read), 0)::bigint        AS read,
       coalesce(sum(rows_loaded), 0)::bigint      AS loaded,
       coalesce(sum(rows_duplicate), 0)::bigint   AS duplicate,
       coalesce(sum(rows_quarantined), 0)::bigint AS quarantined
  FROM ingest_file
"""

QUARANTINE_BY_REASON = """
SELECT reason_code, count(*)::bigint AS row_count FROM quarantine GROUP BY reason_code
 ORDER BY reason_code
"""

# Any table of QuotaWatch's (or anyone's) in the database's ordinary schemas?
USER_TABLE_COUNT = """
SELECT count(*)::int AS n
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE '\\_timescaledb%' AND n.nspname NOT LIKE 'timescaledb\\_%'
   AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp%'
"""

TIMESCALEDB_INSTALLED = "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
TIMESCALEDB_AVAILABLE = """
SELECT version FROM pg_available_extension_versions WHERE name = 'timescaledb'
"""
SERVER_VERSION = "SELECT current_setting('server_version') AS version"

RECORD_BACKUP = """
INSERT INTO backup_log (timescaledb_version, postgres_version, migration_level, hostname,
                        file_name)
VALUES (%(timescaledb_version)s, %(postgres_version)s, %(migration_level)s, %(hostname)s,
        %(file_name)s)
RETURNING backup_id, taken_at
"""
