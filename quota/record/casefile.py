"""A building's case file for a year: what a third party needs to recompute its determination.

:func:`casefile_zip` returns the bytes of a zip with the determination, the quota versions,
the daily use [kWh per energy type] with its sources (reading files with their SHA-256, per
day and meter), the corrections, the meters, the rules and conversion factors the
determination used, and a README explaining each file and how to recompute the use.

Functions take a connection and never commit.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

import psycopg

from quota import calendar
from quota.record import notice_queries as q
from quota.record import quota_versions
from quota.record.notices import NoticeError, year_bounds

README = """\
# Case file of building {building_id}, quota year {year}

Written by QuotaWatch on {written_at}. {determination_line}

Files:

- `determination.json`: the determination in force for the year (id, when, by whom, as-of
  date, time zone, superseding reason) and this building's result per basis: status,
  use_value (basis unit), energy_kwh, energy_kgce, limit_value, quota_version_id, utilization,
  completeness, excess.
- `quota_versions.csv`: every version of the building's quota for the year, oldest first
  (source imported, proposed or adjusted; reason, by, at; file name and SHA-256 of imports);
  in_force marks the version in force now, the determination names the one it used.
- `daily_use.csv`: the building's daily rollups of the year: local day, energy_type,
  energy_kwh [kWh], reading_count, covered_hours [h], meter_count.
- `daily_sources.csv`: per local day and meter, the reading files its readings came from
  (file names; see source_files.csv for checksums).
- `source_files.csv`: the reading files with readings of the building in the year:
  file_name, sha256 (SHA-256 of the file's bytes), meter_id, readings, first and last
  reading, loaded_at.
- `corrections.csv`: corrected readings of the year: meter, instant, previous and new value
  and energy [kWh], the corrections file and its SHA-256.
- `meters.csv`: the building's meters: energy type, unit, reading kind, multiplier.
- `rules.json`: the evaluation rules the determination used (scope, tiers, data
  sufficiency).
- `factors.json`: the conversion factors the determination used (kgce per kWh of
  electricity, per m³ of gas, per GJ of heat; gas kWh per m³).
- `bills.csv`: utility bills of the building's accounts whose period overlaps the year:
  account, period (local dates, both inclusive), value as billed and in kWh, whether it was
  estimated, the building's share of the account, and the file with its SHA-256. Spread
  evenly over the days of its period and multiplied by the share, a bill gives the billed
  days of `daily_use.csv`.

## Recomputing the use

- Basis `electricity_kwh`: the use is the sum of `energy_kwh` over the rows of
  `daily_use.csv` whose `energy_type` is `electricity`.
- Basis `energy_kgce`: convert each row to kgce with `factors.json` and sum: electricity
  kWh × electricity_kgce_per_kwh; natural gas kWh ÷ natural_gas_kwh_per_m3 ×
  natural_gas_kgce_per_m3; district heat kWh × 0.0036 GJ/kWh × district_heat_kgce_per_gj.
- Utilisation = use ÷ `limit_value` (the quota limit); the tier follows from rules.json
  [tiers]: above over_ratio is `over`, above over_20_ratio `over_20` (`over_20_repeat` when
  the previous year's determination was also above it).

The daily data are the rollups as stored when this file was written; a reading loaded or
corrected after the determination ({determination_at}) changes them, and corrections.csv
shows when each correction was made.
"""


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_plain(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None:
        return ""
    return value


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_plain).encode("utf-8")


def casefile_zip(
    conn: psycopg.Connection[Any], building_id: str, year: int, tz: Any, now: datetime
) -> tuple[bytes, dict[str, Any]]:
    """The case file of ``building_id`` for ``year`` as zip bytes, and a summary
    (building_id, year, determination_id or None, files, days). Raises
    :class:`quota.record.notices.NoticeError` for an unknown building."""
    if conn.execute(q.BUILDING, {"building_id": building_id}).fetchone() is None:
        raise NoticeError(f"building {building_id!r} is not in the registry")
    det = conn.execute(q.DETERMINATION_IN_FORCE, {"year": year}).fetchone()
    results: list[dict[str, Any]] = []
    if det is not None:
        results = [
            dict(r)
            for r in conn.execute(
                q.DETERMINATION_ROWS,
                {"determination_id": det["determination_id"], "building_id": building_id},
            ).fetchall()
        ]
    start, end = year_bounds(year, tz)
    params = {
        "building_id": building_id,
        "start": start,
        "end": end,
        "first_day": calendar.year_start(year),
        "last_day": calendar.year_end(year),
        "timezone": getattr(tz, "key", str(tz)),
    }
    daily = [dict(r) for r in conn.execute(q.DAILY, params).fetchall()]
    daily_files = [dict(r) for r in conn.execute(q.DAILY_FILES, params).fetchall()]
    files = [dict(r) for r in conn.execute(q.SOURCE_FILES, params).fetchall()]
    corrections = [dict(r) for r in conn.execute(q.CORRECTIONS, params).fetchall()]
    bills = [dict(r) for r in conn.execute(q.BILLS, params).fetchall()]
    meters = [dict(r) for r in conn.execute(q.METERS, params).fetchall()]
    versions = quota_versions.history(conn, building_id, year)

    determination = None
    if det is not None:
        determination = {
            "determination_id": int(det["determination_id"]),
            "year": det["year"],
            "as_of": det["as_of"],
            "at": det["at"],
            "by": det["actor"],
            "reason": det["reason"],
            "timezone": det["timezone"],
            "unverified_parameters": det["unverified"],
        }
    members = {
        "determination.json": _json(
            {
                "building_id": building_id,
                "determination": determination,
                "results": [
                    {
                        k: v
                        for k, v in r.items()
                        if not k.startswith("quota_") or k == "quota_version_id"
                    }
                    for r in results
                ],
            }
        ),
        "quota_versions.csv": _csv(
            versions,
            [
                "version_id",
                "basis",
                "limit_value",
                "source",
                "reason",
                "by",
                "at",
                "file",
                "checksum",
                "in_force",
            ],
        ),
        "daily_use.csv": _csv(
            daily,
            ["day", "energy_type", "energy_kwh", "reading_count", "covered_hours", "meter_count"],
        ),
        "daily_sources.csv": _csv(daily_files, ["day", "meter_id", "files"]),
        "source_files.csv": _csv(
            files,
            [
                "file_name",
                "sha256",
                "meter_id",
                "readings",
                "first_reading_at",
                "last_reading_at",
                "loaded_at",
            ],
        ),
        "corrections.csv": _csv(
            corrections,
            [
                "correction_id",
                "meter_id",
                "reading_at",
                "previous_value",
                "previous_energy_kwh",
                "new_value",
                "new_energy_kwh",
                "file_name",
                "sha256",
                "corrected_at",
            ],
        ),
        "meters.csv": _csv(
            meters, ["meter_id", "energy_type", "unit", "reading_kind", "multiplier"]
        ),
        "rules.json": _json(None if det is None else det["rules"]),
        "factors.json": _json(None if det is None else det["factors"]),
        "bills.csv": _csv(
            bills,
            [
                "bill_id",
                "account_id",
                "energy_type",
                "share",
                "period_start",
                "period_end",
                "value",
                "unit",
                "energy_kwh",
                "estimated",
                "file_name",
                "sha256",
            ],
        ),
    }
    determination_line = (
        f"Determination {determination['determination_id']} of {year}, made "
        f"{determination['at']:%Y-%m-%d %H:%M %Z} by {determination['by']}."
        if determination
        else f"{year} has no determination in force: determination.json holds no result."
    )
    readme = README.format(
        building_id=building_id,
        year=year,
        written_at=now.isoformat(timespec="seconds"),
        determination_line=determination_line,
        determination_at=determination["at"].isoformat(timespec="seconds")
        if determination
        else "-",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.md", readme.encode("utf-8"))
        for name, data in members.items():
            archive.writestr(name, data)
    summary = {
        "building_id": building_id,
        "year": year,
        "determination_id": None if determination is None else determination["determination_id"],
        "files": ["README.md", *members],
        "days": len({r["day"] for r in daily}),
        "source_files": len({r["file_name"] for r in files}),
        "corrections": len(corrections),
    }
    return buffer.getvalue(), summary
