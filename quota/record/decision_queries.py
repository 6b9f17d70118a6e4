"""SQL of the regulator's decisions: quota versions, determinations and the audit log.

Parameterised query constants only; the functions that run them live in
``quota.record.quota_versions``, ``quota.record.determinations`` and ``quota.record.audit``.
Limits are in the basis's unit (kWh for ``electricity_kwh``, kgce for ``energy_kgce``).
"""

from __future__ import annotations

# --- actor and reason of the transaction (read by the audit triggers of sql/0071) ----------
SET_ACTOR = "SELECT set_config('quotawatch.actor', %(actor)s, true)"
SET_REASON = "SELECT set_config('quotawatch.reason', %(reason)s, true)"

CURRENT_ACTOR = "SELECT nullif(current_setting('quotawatch.actor', true), '') AS actor"

USER_SNAPSHOT = """
SELECT u.username, u.role, md5(u.password_hash) AS password_digest,
       coalesce((SELECT array_agg(ub.building_id ORDER BY ub.building_id)
                   FROM user_building ub WHERE ub.username = u.username), '{}') AS building_ids
  FROM app_user u
 WHERE u.username = %(username)s
"""

USER_ROLE = "SELECT role FROM app_user WHERE username = %(username)s"
BUILDING_EXISTS = "SELECT 1 FROM building WHERE building_id = %(building_id)s"

# --- quota versions -------------------------------------------------------------------------
VERSION_COLUMNS = """
version_id, building_id, year, basis, limit_value, source, method, reason, actor,
file_name, file_sha256, created_at
"""

# Oldest first; in_force marks the version quota_effective (the one rule) puts in force.
VERSIONS = """
SELECT v.version_id, v.building_id, v.year, v.basis, v.limit_value, v.source, v.method,
       v.reason, v.actor, v.file_name, v.file_sha256, v.created_at,
       (e.version_id IS NOT NULL) AS in_force
  FROM quota_version v
  LEFT JOIN quota_effective e
         ON e.building_id = v.building_id AND e.year = v.year AND e.basis = v.basis
        AND e.version_id = v.version_id
 WHERE v.building_id = %(building_id)s AND v.year = %(year)s
   AND (%(basis)s::text IS NULL OR v.basis = %(basis)s)
 ORDER BY v.version_id
"""

VERSION_IN_FORCE = f"""
SELECT {VERSION_COLUMNS}
  FROM quota_version
 WHERE building_id = %(building_id)s AND year = %(year)s AND basis = %(basis)s
 ORDER BY (source <> 'proposed') DESC, version_id DESC
 LIMIT 1
"""

INSERT_VERSION = f"""
INSERT INTO quota_version (building_id, year, basis, limit_value, source, method,
                           explanation, reason, file_name, file_sha256)
VALUES (%(building_id)s, %(year)s, %(basis)s, %(limit_value)s, %(source)s, %(method)s,
        %(explanation)s, %(reason)s, %(file_name)s, %(file_sha256)s)
RETURNING {VERSION_COLUMNS}
"""

# Imported quotas from a staged file (stage_quota: building_id, year, basis, limit_value):
# a version only where the limit differs from the latest imported version of the key.
# Returns (inserted, updated, unchanged) counts.
IMPORT_VERSIONS = """
WITH staged AS (
    SELECT s.building_id, s.year, s.basis, s.limit_value, last.limit_value AS previous_limit
      FROM stage_quota s
      LEFT JOIN LATERAL (
            SELECT v.limit_value
              FROM quota_version v
             WHERE v.building_id = s.building_id AND v.year = s.year AND v.basis = s.basis
               AND v.source = 'imported'
             ORDER BY v.version_id DESC
             LIMIT 1) last ON true
), added AS (
    INSERT INTO quota_version (building_id, year, basis, limit_value, source, file_name,
                               file_sha256)
    SELECT building_id, year, basis, limit_value, 'imported', %(file_name)s, %(file_sha256)s
      FROM staged
     WHERE previous_limit IS DISTINCT FROM limit_value
     ORDER BY building_id, year, basis
    RETURNING 1
)
SELECT count(*) FILTER (WHERE previous_limit IS NULL)::int AS inserted,
       count(*) FILTER (WHERE previous_limit IS NOT NULL
                          AND previous_limit IS DISTINCT FROM limit_value)::int AS updated,
       count(*) FILTER (WHERE previous_limit = limit_value)::int AS unchanged,
       (SELECT count(*) FROM added)::int AS versions_added
  FROM staged
"""

# A proposal adds a version only when no published (imported/adjusted) version exists for
# the key and the limit differs from the latest proposal.
PROPOSE_VERSION = """
INSERT INTO quota_version (building_id, year, basis, limit_value, source, method, explanation)
SELECT %(building_id)s, %(year)s, %(basis)s, %(limit_value)s, 'proposed', %(method)s,
       %(explanation)s
 WHERE NOT EXISTS (
         SELECT 1 FROM quota_version v
          WHERE v.building_id = %(building_id)s AND v.year = %(year)s
            AND v.basis = %(basis)s AND v.source <> 'proposed')
   AND %(limit_value)s::double precision IS DISTINCT FROM (
         SELECT v.limit_value FROM quota_version v
          WHERE v.building_id = %(building_id)s AND v.year = %(year)s
            AND v.basis = %(basis)s AND v.source = 'proposed'
          ORDER BY v.version_id DESC LIMIT 1)
"""

# --- determinations -------------------------------------------------------------------------
DETERMINATION_IN_FORCE = """
SELECT determination_id, year, as_of, at, actor, reason, superseded_by
  FROM determination
 WHERE year = %(year)s AND superseded_by IS NULL
 FOR UPDATE
"""

LOCK_DETERMINATIONS = "SELECT pg_advisory_xact_lock(%(key)s, %(year)s)"

INSERT_DETERMINATION = """
INSERT INTO determination (year, as_of, actor, reason, timezone, rules, factors, unverified)
VALUES (%(year)s, %(as_of)s, %(actor)s, %(reason)s, %(timezone)s, %(rules)s, %(factors)s,
        %(unverified)s)
RETURNING determination_id, at
"""

SUPERSEDE = """
UPDATE determination SET superseded_by = %(new_id)s
 WHERE determination_id = %(old_id)s AND superseded_by IS NULL
"""

DETERMINATION_RESULT_COLUMNS = (
    "determination_id",
    "building_id",
    "basis",
    "status",
    "use_value",
    "energy_kwh",
    "energy_kgce",
    "limit_value",
    "quota_version_id",
    "expected_share",
    "utilization",
    "projected",
    "completeness",
    "excess",
    "eui_kwh_per_m2",
    "co2_kg",
    "details",
)

DETERMINATIONS = """
SELECT determination_id, year, as_of, at, actor AS by, reason, superseded_by, timezone,
       (SELECT count(DISTINCT r.building_id) FROM determination_result r
         WHERE r.determination_id = d.determination_id)::int AS building_count
  FROM determination d
 WHERE (%(year)s::int IS NULL OR year = %(year)s)
 ORDER BY year, determination_id
"""

# Every building's determined results over all years (determinations in force only).
DETERMINED_HISTORY = """
SELECT d.year, d.determination_id, r.building_id, r.basis, r.status, r.utilization,
       r.use_value, r.limit_value
  FROM determination d
  JOIN determination_result r USING (determination_id)
 WHERE d.superseded_by IS NULL
   AND (%(building_ids)s::text[] IS NULL OR r.building_id = ANY(%(building_ids)s))
 ORDER BY r.building_id, r.basis, d.year
"""

# --- audit log ------------------------------------------------------------------------------
INSERT_ENTRY = """
INSERT INTO audit_entry (actor, action, building_id, reason, before, after)
VALUES (%(actor)s, %(action)s, %(building_id)s, %(reason)s, %(before)s, %(after)s)
"""

ENTRIES = """
SELECT entry_id, at, actor, action, building_id, reason, before, after
  FROM audit_entry
 WHERE (%(building_id)s::text IS NULL OR building_id = %(building_id)s)
   AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
   AND (%(action_prefix)s::text IS NULL OR action LIKE %(action_prefix)s || '%%')
   AND (%(actor)s::text IS NULL OR actor = %(actor)s)
 ORDER BY at, entry_id
 LIMIT %(limit)s
"""
