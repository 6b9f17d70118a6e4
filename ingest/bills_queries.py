"""SQL of loading bills and of their building-days (parameterised constants)."""

from __future__ import annotations

ACCOUNTS = """
SELECT account_id, min(energy_type) AS energy_type, min(unit) AS unit
  FROM utility_account
 GROUP BY account_id
"""

MARK_FILE_BILLS = "UPDATE ingest_file SET content = 'bills' WHERE file_id = %s"

# Stored bills of the file's accounts that count for duplicates and overlaps (corrected ones
# are history).
STORED_BILLS = """
SELECT bill_id, account_id, period_start, period_end, value, estimated, status
  FROM bill
 WHERE account_id = ANY(%(accounts)s) AND status IN ('active', 'superseded')
   AND period_end >= %(lo)s AND period_start <= %(hi)s
 ORDER BY account_id, period_start, bill_id
"""

COPY_BILLS = """
COPY bill (account_id, period_start, period_end, value, unit, energy_kwh, estimated, file_id,
           line_number)
FROM STDIN (FORMAT BINARY)
"""

BILL_IDS_OF_FILE = """
SELECT line_number, bill_id FROM bill WHERE file_id = %s
"""

BILLS_BY_ID = """
SELECT bill_id, account_id, period_start, period_end, value, estimated, file_id
  FROM bill WHERE bill_id = ANY(%s)
"""

REPLACE_BILLS = """
UPDATE bill b
   SET status = r.status, replaced_by_bill_id = r.new_bill_id, replaced_by_file_id = %(file_id)s,
       replaced_at = now()
  FROM unnest(%(old)s::bigint[], %(new)s::bigint[], %(status)s::text[])
       AS r (old_bill_id, new_bill_id, status)
 WHERE b.bill_id = r.old_bill_id
"""

INSERT_BILL_CORRECTIONS = """
INSERT INTO bill_correction (account_id, previous_bill_id, previous_period_start,
                             previous_period_end, previous_value, previous_estimated,
                             previous_file_id, new_bill_id, file_id)
SELECT b.account_id, b.bill_id, b.period_start, b.period_end, b.value, b.estimated, b.file_id,
       r.new_bill_id, %(file_id)s
  FROM unnest(%(old)s::bigint[], %(new)s::bigint[]) AS r (old_bill_id, new_bill_id)
  JOIN bill b ON b.bill_id = r.old_bill_id
"""

# The bill periods of accounts (their buildings and energy types are the groups whose days a
# change of the accounts touches).
BILL_SPAN_OF_GROUPS = """
WITH g AS (
    SELECT * FROM unnest(%(buildings)s::text[], %(energy_types)s::text[])
                  AS g (building_id, energy_type)
), spans AS (
    SELECT min(b.period_start) AS lo, max(b.period_end) AS hi
      FROM g
      JOIN utility_account a ON g.building_id = a.building_id AND g.energy_type = a.energy_type
      JOIN bill b ON b.account_id = a.account_id AND b.status = 'active'
    UNION ALL
    SELECT min(d.day), max(d.day)
      FROM g
      JOIN building_daily d ON d.building_id = g.building_id AND d.energy_type = g.energy_type
    UNION ALL
    SELECT min(r.first_day), max(r.last_day)
      FROM g
      JOIN building_daily_run r
        ON r.building_id = g.building_id AND r.energy_type = g.energy_type
)
SELECT min(lo) AS lo, max(hi) AS hi FROM spans
"""

GROUPS_OF_ACCOUNTS = """
SELECT DISTINCT building_id, energy_type FROM utility_account WHERE account_id = ANY(%s)
"""

ACCOUNT_GROUPS_OF_BUILDINGS = """
SELECT DISTINCT building_id, energy_type FROM utility_account WHERE building_id = ANY(%s)
"""

ACCOUNT_GROUPS_WITH_METERS = """
SELECT DISTINCT a.building_id, a.energy_type
  FROM utility_account a
 WHERE EXISTS (SELECT 1 FROM meter m
                WHERE m.building_id = a.building_id AND m.energy_type = a.energy_type)
"""

# --- building-days of groups (building, energy type) ---------------------------------------
# The rewrite of the groups' days skips building_daily's per-statement upkeep (monthly
# rollup, building references) and does it once afterwards for the groups (sql/0140).
DEFER_UPKEEP = "SELECT set_config('quotawatch.deferred_upkeep', 'on', true)"
END_DEFERRED_UPKEEP = "SELECT set_config('quotawatch.deferred_upkeep', 'off', true)"
DEFERRED_UPKEEP = """
SELECT building_daily_deferred_upkeep(%(buildings)s::text[], %(energy_types)s::text[],
                                      %(lo)s, %(hi)s, %(whole_from)s, %(whole_to)s) AS months
"""
COPY_BUILDING_MONTHLY = """
COPY building_monthly (building_id, energy_type, month, energy_kwh, reading_count,
                       covered_hours, day_count, first_day) FROM STDIN (FORMAT BINARY)
"""

DELETE_GROUP_DAYS = """
DELETE FROM building_daily d
 USING unnest(%(buildings)s::text[], %(energy_types)s::text[]) AS g (building_id, energy_type)
 WHERE d.building_id = g.building_id AND d.energy_type = g.energy_type
   AND d.day BETWEEN %(lo)s AND %(hi)s
"""

# The groups' runs (sql/0150) reaching into [lo, hi] lose their days within it: a run wholly
# within is deleted, one reaching out keeps its days before lo and after hi (the same
# figures a day).
CLIP_GROUP_RUNS = """
WITH g AS (
    SELECT * FROM unnest(%(buildings)s::text[], %(energy_types)s::text[])
                  AS g (building_id, energy_type)
), cut AS (
    DELETE FROM building_daily_run r
     USING g
     WHERE r.building_id = g.building_id AND r.energy_type = g.energy_type
       AND r.first_day <= %(hi)s AND r.last_day >= %(lo)s
    RETURNING r.*
)
INSERT INTO building_daily_run (building_id, energy_type, first_day, last_day, energy_kwh,
                                reading_count, covered_hours, meter_count, source)
SELECT building_id, energy_type, first_day, %(lo)s::date - 1, energy_kwh, reading_count,
       covered_hours, meter_count, source
  FROM cut WHERE first_day < %(lo)s
UNION ALL
SELECT building_id, energy_type, %(hi)s::date + 1, last_day, energy_kwh, reading_count,
       covered_hours, meter_count, source
  FROM cut WHERE last_day > %(hi)s
"""

COPY_BUILDING_DAILY_RUNS = """
COPY building_daily_run (building_id, energy_type, first_day, last_day, energy_kwh,
                         reading_count, covered_hours, meter_count, source)
FROM STDIN (FORMAT BINARY)
"""

GROUPS_WITH_ACCOUNTS = """
SELECT g.n
  FROM unnest(%(buildings)s::text[], %(energy_types)s::text[]) WITH ORDINALITY
       AS g (building_id, energy_type, n)
 WHERE EXISTS (SELECT 1 FROM utility_account a
                WHERE a.building_id = g.building_id AND a.energy_type = g.energy_type)
"""

# Active bills of the groups' accounts overlapping [lo, hi], one row per bill and building
# (n: the group's 1-based position in the arrays).
GROUP_BILLS = """
SELECT g.n, b.period_start, b.period_end, b.energy_kwh, a.share
  FROM unnest(%(buildings)s::text[], %(energy_types)s::text[]) WITH ORDINALITY
       AS g (building_id, energy_type, n)
  JOIN utility_account a ON a.building_id = g.building_id AND a.energy_type = g.energy_type
  JOIN bill b ON b.account_id = a.account_id
 WHERE b.status = 'active' AND b.period_end >= %(lo)s AND b.period_start <= %(hi)s
"""

# The groups' building-days from their meters, as ingest/queries.py INSERT_BUILDING_DAILY
# computes them: sums of meter_daily, covered hours as the mean over the registered meters.
GROUP_METER_DAYS = """
WITH g AS (
    SELECT g.building_id, g.energy_type, g.n,
           (SELECT count(*) FROM meter m
             WHERE m.building_id = g.building_id AND m.energy_type = g.energy_type) AS meters
      FROM unnest(%(buildings)s::text[], %(energy_types)s::text[]) WITH ORDINALITY
           AS g (building_id, energy_type, n)
)
SELECT g.n, md.day, sum(md.energy_kwh) AS energy_kwh, sum(md.reading_count) AS reading_count,
       sum(md.covered_hours) / max(g.meters) AS covered_hours, count(*) AS meter_count
  FROM g
  JOIN meter m ON m.building_id = g.building_id AND m.energy_type = g.energy_type
  JOIN meter_daily md ON md.meter_key = m.meter_key AND md.day BETWEEN %(lo)s AND %(hi)s
 GROUP BY g.n, md.day
"""

COPY_BUILDING_DAILY_WITH_SOURCE = """
COPY building_daily (building_id, energy_type, day, energy_kwh, reading_count, covered_hours,
                     meter_count, source)
FROM STDIN (FORMAT BINARY)
"""
