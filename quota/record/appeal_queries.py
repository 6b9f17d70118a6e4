"""SQL of appeals (``sql/0110_appeals.sql``). Parameterised query constants only; the
functions that run them live in ``quota.record.appeals``. Limits in the basis's unit (kWh or kgce).
"""

from __future__ import annotations

APPEAL_COLUMNS = """
a.appeal_id, a.building_id, b.name AS building_name, a.year, a.basis, a.reason,
a.requested_limit_value, a.submitted_by, a.submitted_at, a.determination_id, a.status,
a.decided_by, a.decided_at, a.decision_reason, a.quota_version_id, a.determination_after_id
"""

MANAGES = """
SELECT 1 FROM user_building ub JOIN app_user u USING (username)
 WHERE ub.username = %(username)s AND ub.building_id = %(building_id)s AND u.role = 'manager'
"""

DETERMINATION_IN_FORCE = """
SELECT determination_id FROM determination WHERE year = %(year)s AND superseded_by IS NULL
"""

OPEN_APPEAL_EXISTS = """
SELECT appeal_id FROM appeal
 WHERE building_id = %(building_id)s AND year = %(year)s AND basis = %(basis)s
   AND status = 'open'
"""

INSERT_APPEAL = f"""
WITH a AS (
    INSERT INTO appeal (building_id, year, basis, reason, requested_limit_value, submitted_by,
                        determination_id)
    VALUES (%(building_id)s, %(year)s, %(basis)s, %(reason)s, %(requested_limit_value)s,
            %(submitted_by)s, %(determination_id)s)
    RETURNING *
)
SELECT {APPEAL_COLUMNS} FROM a JOIN building b USING (building_id)
"""

APPEAL_FOR_UPDATE = f"""
SELECT {APPEAL_COLUMNS}
  FROM appeal a JOIN building b USING (building_id)
 WHERE a.appeal_id = %(appeal_id)s
 FOR UPDATE OF a
"""

DECIDE = f"""
WITH a AS (
    UPDATE appeal
       SET status = %(status)s, decided_by = %(decided_by)s, decided_at = clock_timestamp(),
           decision_reason = %(decision_reason)s, quota_version_id = %(quota_version_id)s,
           determination_after_id = %(determination_after_id)s
     WHERE appeal_id = %(appeal_id)s AND status = 'open'
    RETURNING *
)
SELECT {APPEAL_COLUMNS} FROM a JOIN building b USING (building_id)
"""

# Appeals newest first; building_ids NULL = every building (regulators), else only those.
APPEALS = f"""
SELECT {APPEAL_COLUMNS}
  FROM appeal a JOIN building b USING (building_id)
 WHERE (%(building_ids)s::text[] IS NULL OR a.building_id = ANY(%(building_ids)s))
   AND (%(building_id)s::text IS NULL OR a.building_id = %(building_id)s)
   AND (%(status)s::text IS NULL OR a.status = %(status)s)
 ORDER BY a.submitted_at DESC, a.appeal_id DESC
"""
