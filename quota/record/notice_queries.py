"""SQL of notices and case files: what a determination says about one building, and the
data behind it (daily use, source files, meters, corrections, quota versions).

Parameterised query constants only; ``quota.record.notices`` and ``quota.record.casefile`` run them.
Energy in kWh (as stored in the rollups), limits and use in the basis's unit (kWh for
``electricity_kwh``, kgce for ``energy_kgce``). Instants are ``timestamptz``; ``start`` and
``end`` bound the local quota year (``end`` exclusive).
"""

from __future__ import annotations

BUILDING = """
SELECT b.building_id, b.name, b.district, b.building_type, t.name_zh AS type_zh,
       t.name_en AS type_en, b.floor_area_m2
  FROM building b JOIN building_type t USING (building_type)
 WHERE b.building_id = %(building_id)s
"""

# Dashboard managers assigned to the building (who receives its notice).
MANAGERS = """
SELECT ub.username
  FROM user_building ub JOIN app_user u USING (username)
 WHERE ub.building_id = %(building_id)s AND u.role = 'manager'
 ORDER BY ub.username
"""

DETERMINATION_IN_FORCE = """
SELECT determination_id, year, as_of, at, actor, reason, timezone, rules, factors,
       unverified, superseded_by
  FROM determination
 WHERE year = %(year)s AND superseded_by IS NULL
"""

# One building's rows of a determination, each with the quota version it used.
DETERMINATION_ROWS = """
SELECT r.basis, r.status, r.use_value, r.energy_kwh, r.energy_kgce, r.limit_value,
       r.quota_version_id, r.utilization, r.completeness, r.excess, r.eui_kwh_per_m2,
       r.co2_kg, r.details,
       v.source AS quota_source, v.reason AS quota_reason, v.actor AS quota_by,
       v.created_at AS quota_at, v.file_name AS quota_file, v.file_sha256 AS quota_checksum
  FROM determination_result r
  LEFT JOIN quota_version v ON v.version_id = r.quota_version_id
 WHERE r.determination_id = %(determination_id)s AND r.building_id = %(building_id)s
 ORDER BY r.basis
"""

# Buildings of a year's determination in force, optionally only some statuses.
DETERMINED_BUILDINGS = """
SELECT DISTINCT r.building_id
  FROM determination d JOIN determination_result r USING (determination_id)
 WHERE d.year = %(year)s AND d.superseded_by IS NULL
   AND (%(statuses)s::text[] IS NULL OR r.status = ANY(%(statuses)s))
 ORDER BY r.building_id
"""

METERS = """
SELECT meter_id, energy_type, unit, reading_kind, multiplier
  FROM meter
 WHERE building_id = %(building_id)s
 ORDER BY meter_id
"""

# Reading files that supplied the building's readings in the year: name, SHA-256, meter,
# rows and first/last reading instant.
SOURCE_FILES = """
SELECT f.file_id, f.file_name, f.sha256, m.meter_id, count(*)::bigint AS readings,
       min(r.reading_at) AS first_reading_at, max(r.reading_at) AS last_reading_at,
       f.loaded_at
  FROM reading r
  JOIN meter m USING (meter_key)
  JOIN ingest_file f ON f.file_id = r.file_id
 WHERE m.building_id = %(building_id)s
   AND r.reading_at >= %(start)s AND r.reading_at < %(end)s
 GROUP BY f.file_id, f.file_name, f.sha256, m.meter_id, f.loaded_at
 ORDER BY f.file_id, m.meter_id
"""

# Utility bills of the building's accounts whose period overlaps the year (active ones: a
# superseded estimate or a corrected bill no longer counts), with the building's share of
# the account and the file each came from. Periods are local dates, both inclusive.
BILLS = """
SELECT b.bill_id, b.account_id, a.energy_type, a.share, b.period_start, b.period_end,
       b.value, b.unit, b.energy_kwh, b.estimated, f.file_name, f.sha256
  FROM bill b
  JOIN utility_account a ON a.account_id = b.account_id AND a.building_id = %(building_id)s
  JOIN ingest_file f ON f.file_id = b.file_id
 WHERE b.status = 'active'
   AND b.period_end >= %(first_day)s AND b.period_start <= %(last_day)s
 ORDER BY b.account_id, b.period_start
"""

# The daily rollups of the year per energy type [kWh], with coverage.
DAILY = """
SELECT day, energy_type, energy_kwh, reading_count, covered_hours, meter_count
  FROM building_days(%(first_day)s, %(last_day)s)
 WHERE building_id = %(building_id)s
 ORDER BY day, energy_type
"""

# Per local day and meter, the reading files its readings came from.
DAILY_FILES = """
SELECT (r.reading_at AT TIME ZONE %(timezone)s)::date AS day, m.meter_id,
       string_agg(DISTINCT f.file_name, ';' ORDER BY f.file_name) AS files
  FROM reading r
  JOIN meter m USING (meter_key)
  JOIN ingest_file f ON f.file_id = r.file_id
 WHERE m.building_id = %(building_id)s
   AND r.reading_at >= %(start)s AND r.reading_at < %(end)s
 GROUP BY 1, m.meter_id
 ORDER BY 1, m.meter_id
"""

CORRECTIONS = """
SELECT c.correction_id, m.meter_id, c.reading_at, c.previous_value, c.previous_energy_kwh,
       c.new_value, c.new_energy_kwh, f.file_name, f.sha256, c.corrected_at
  FROM reading_correction c
  JOIN meter m USING (meter_key)
  JOIN ingest_file f ON f.file_id = c.file_id
 WHERE m.building_id = %(building_id)s
   AND c.reading_at >= %(start)s AND c.reading_at < %(end)s
 ORDER BY c.reading_at, c.correction_id
"""
