"""Pure table builders: DataFrame in, ag-grid column definitions and row dicts out, and the
file exports of exactly those rows and columns. No database, no Dash.

Row values are already rounded and localised as shown, so an export of the same rows and
columns is what the viewer sees on screen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from dashboard.palette import STATUS_COLOURS, STATUS_TEXT_COLOURS
from dashboard.texts import UNIT_BY_BASIS, status_label, t
from quota import spreadsheets

Column = dict[str, Any]
Row = dict[str, Any]

# Every ASCII punctuation character may be backslash-escaped in (CommonMark) markdown.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _num(value: Any, digits: int = 0) -> float | int | None:
    """A number rounded for display (None for missing)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return round(number) if digits == 0 else round(number, digits)


def _pct(ratio: Any, digits: int = 1) -> float | None:
    value = _num(ratio, 6)
    return None if value is None else round(value * 100.0, digits)


def _text(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def markdown_link(label: str, href: str) -> str:
    """A markdown link that shows ``label`` as plain text and points at ``href``.

    Every punctuation character of the label is escaped and line breaks become spaces, so
    a name like ``[x](http://evil)`` shows as written instead of becoming a link; the href
    is percent-encoded (path separators and existing escapes kept).
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", label))
    return f"[{escaped}]({quote(href, safe='/%')})"


def building_href(building_id: str) -> str:
    """The path of a building's page, its id percent-encoded as one path segment."""
    return "/building/" + quote(building_id, safe="")


def number_column(field: str, header: str, width: int = 130) -> Column:
    return {
        "field": field,
        "headerName": header,
        "filter": "agNumberColumnFilter",
        "type": "rightAligned",
        "minWidth": width,
        "width": width,
    }


def text_column(field: str, header: str, width: int = 130) -> Column:
    return {
        "field": field,
        "headerName": header,
        "filter": "agTextColumnFilter",
        "minWidth": width,
        "width": width,
        "tooltipField": field,
    }


def status_column(header: str) -> Column:
    """The status column: localised text on the status colour (rows carry ``status_code``)."""
    conditions = [
        {
            "condition": f"params.data.status_code === '{code}'",
            "style": {"backgroundColor": colour, "color": STATUS_TEXT_COLOURS[code]},
        }
        for code, colour in STATUS_COLOURS.items()
    ]
    column = text_column("status", header, 150)
    column["cellStyle"] = {"styleConditions": conditions}
    return column


def type_name(row: pd.Series | dict[str, Any], lang: str) -> str:
    return str(row["type_en"] if lang == "en" else row["type_zh"])


def rounded_list(values: Any, digits: int = 0) -> list[float | int | None]:
    """A column of numbers rounded for display, as plain Python values (None for missing;
    ints when ``digits`` is 0). Vectorised: the same values as :func:`_num` per cell."""
    array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    array = np.where(np.isfinite(array), array, np.nan)
    rounded = np.round(array, digits).tolist()
    if digits == 0:
        return [None if v != v else int(v) for v in rounded]
    return [None if v != v else v for v in rounded]


THOUSANDS = {"function": "params.value == null ? '' : d3.format(',.0f')(params.value)"}
ONE_DECIMAL = {"function": "params.value == null ? '' : d3.format(',.1f')(params.value)"}


def city_columns(basis: str, lang: str) -> list[Column]:
    """Column definitions of the city page's building table (energies in the basis's unit).

    The decisive columns come first (status, utilization, limit_value, use to date, projection,
    excess to date and projected at year end), so at 1440 px they are on screen; numbers
    show thousands separators; headers wrap instead of being clipped.
    """
    unit = UNIT_BY_BASIS[basis]

    def num(field: str, key: str, width: int, fmt: dict[str, str] = THOUSANDS) -> Column:
        return {
            **number_column(field, t(key, lang, unit=unit), width),
            "valueFormatter": fmt,
        }

    return [
        {
            **text_column("building", t("col_building", lang), 170),
            "cellRenderer": "markdown",
            "tooltipField": "name",
            "pinned": "left",
        },
        {
            **status_column(t("col_status", lang)),
            # The longest English name takes two lines (the cell wraps).
            "minWidth": 200 if lang == "en" else 140,
            "width": 200 if lang == "en" else 140,
        },
        num("utilization_pct", "col_utilization_pct", 120, ONE_DECIMAL),
        # Wide enough for nine digits with separators (a city's largest buildings).
        num("limit_value", "col_quota", 130),
        num("energy", "col_energy", 130),
        num("projected", "col_projected", 130),
        num("excess", "col_excess", 125),
        num("projected_excess", "col_projected_excess", 130),
        text_column("binding_basis", t("col_binding_basis", lang), 130 if lang == "en" else 100),
        text_column("district", t("col_district", lang), 105),
        text_column("type", t("col_type", lang), 170 if lang == "en" else 120),
        num("floor_area_m2", "col_floor_area_m2", 110),
        num("eui_kwh_per_m2", "col_eui", 110, ONE_DECIMAL),
        text_column("building_id", t("col_building_id", lang), 100),
    ]


def projected_excess(projected: Any, limit_value: Any) -> pd.Series:
    """Projected excess at year end [basis unit]: max(0, projected − limit_value), NaN when
    either is missing."""
    projected_v = pd.to_numeric(pd.Series(projected), errors="coerce").reset_index(drop=True)
    limit_v = pd.to_numeric(pd.Series(limit_value), errors="coerce").reset_index(drop=True)
    return (projected_v - limit_v).clip(lower=0.0)


def binding_basis_label(binding: Any, basis_count: Any) -> str:
    """Which basis binds (the one with the higher utilization) when a building has both:
    its unit, else empty."""
    try:
        count = int(basis_count)
    except (TypeError, ValueError):
        return ""
    if count < 2 or binding not in UNIT_BY_BASIS:
        return ""
    return UNIT_BY_BASIS[str(binding)]


Table = dict[str, list[Any]]


def city_table(results: pd.DataFrame, lang: str) -> Table:
    """The city table's values column by column (field → one value per building, rounded
    and localised as shown), in the order of ``results``.

    Kept as columns: at 20,000 buildings building a dict per row costs more than the SQL,
    and a grid block needs only ~100 of them (:func:`city_row`, :func:`grid_page`).
    """
    if results.empty:
        return {field: [] for field in CITY_TABLE_FIELDS}
    statuses = [str(v) for v in results["status"].tolist()]
    labels = {code: status_label(code, lang) for code in set(statuses)}
    type_field = "type_en" if lang == "en" else "type_zh"
    util = pd.to_numeric(results["utilization"], errors="coerce") * 100.0
    return {
        "name": [str(v) for v in results["name"].tolist()],
        "building_id": [str(v) for v in results["building_id"].tolist()],
        "district": [str(v) for v in results["district"].tolist()],
        "type": [str(v) for v in results[type_field].tolist()],
        "floor_area_m2": rounded_list(results["floor_area_m2"]),
        "status_code": statuses,
        "status": [labels[code] for code in statuses],
        "utilization_pct": rounded_list(util.round(4), 1),
        "energy": rounded_list(results["energy"]),
        "limit_value": rounded_list(results["limit_value"]),
        "projected": rounded_list(results["projected"]),
        "excess": rounded_list(results["excess"]),
        "projected_excess": rounded_list(
            projected_excess(results["projected"], results["limit_value"])
        ),
        "binding_basis": [
            binding_basis_label(b, n)
            for b, n in zip(
                results.get("binding_basis", pd.Series([None] * len(results))).tolist(),
                results.get("basis_count", pd.Series([1] * len(results))).tolist(),
                strict=True,
            )
        ],
        "eui_kwh_per_m2": rounded_list(results["eui_kwh_per_m2"], 1),
    }


CITY_TABLE_FIELDS = (
    "name",
    "building_id",
    "district",
    "type",
    "floor_area_m2",
    "status_code",
    "status",
    "utilization_pct",
    "energy",
    "limit_value",
    "projected",
    "excess",
    "projected_excess",
    "binding_basis",
    "eui_kwh_per_m2",
)


def city_row(table: Table, index: int) -> Row:
    """Row ``index`` of a :func:`city_table` as the grid shows it: the name as a link to
    the building's page, and the plain ``name`` to sort and filter on."""
    row = {field: values[index] for field, values in table.items()}
    row["building"] = markdown_link(row["name"], building_href(row["building_id"]))
    return row


def city_grid(results: pd.DataFrame, basis: str, lang: str) -> tuple[list[Column], list[Row]]:
    """Columns and every row of the city page's building table (one row per building).

    The building name links to its page; energies are in the basis's unit.
    """
    table = city_table(results, lang)
    return city_columns(basis, lang), [city_row(table, i) for i in range(len(table["name"]))]


# ------------------------------------------------------------------------------------------
# Server-side paging of a grid (ag-grid's infinite row model)
# ------------------------------------------------------------------------------------------
def _text_match(kind: str, cell: Any, wanted: Any) -> bool:
    text = "" if cell is None else str(cell).lower()
    needle = "" if wanted is None else str(wanted).lower()
    tests = {
        "contains": lambda: needle in text,
        "notContains": lambda: needle not in text,
        "equals": lambda: text == needle,
        "notEqual": lambda: text != needle,
        "startsWith": lambda: text.startswith(needle),
        "endsWith": lambda: text.endswith(needle),
    }
    return tests.get(kind, lambda: True)()


def _number_match(kind: str, cell: Any, low: Any, high: Any) -> bool:
    try:
        value = float(cell)
        lower = float(low) if low is not None else math.nan
    except (TypeError, ValueError):
        return False
    upper = float(high) if isinstance(high, (int, float)) else math.nan
    tests = {
        "equals": lambda: value == lower,
        "notEqual": lambda: value != lower,
        "lessThan": lambda: value < lower,
        "lessThanOrEqual": lambda: value <= lower,
        "greaterThan": lambda: value > lower,
        "greaterThanOrEqual": lambda: value >= lower,
        "inRange": lambda: lower < value < upper,
    }
    return tests.get(kind, lambda: True)()


def condition_matches(condition: dict[str, Any], cell: Any) -> bool:
    """Whether a cell passes one ag-grid filter condition (text or number filter model,
    or a combination ``{"operator": "AND"|"OR", "conditions": [...]}``). Text filters are
    case-insensitive like the grid's own; unknown filter types let every row pass."""
    if "conditions" in condition:
        parts = [
            condition_matches(c, cell)
            for c in condition.get("conditions") or []
            if isinstance(c, dict)
        ]
        if not parts:
            return True
        return any(parts) if str(condition.get("operator", "AND")).upper() == "OR" else all(parts)
    kind = str(condition.get("type", ""))
    missing = cell is None or cell == ""
    if kind == "blank":
        return missing
    if kind == "notBlank":
        return not missing
    if condition.get("filterType") == "number":
        return _number_match(kind, cell, condition.get("filter"), condition.get("filterTo"))
    return _text_match(kind, cell, condition.get("filter"))


def grid_page(
    table: Table,
    request: dict[str, Any] | None,
    make_row: Callable[[Table, int], Row],
    aliases: dict[str, str] | None = None,
    max_rows: int = 1000,
) -> dict[str, Any]:
    """One block of a table for ag-grid's infinite row model: the grid's column filters
    (``filterModel``) and sort (``sortModel``) applied on the server over the columns of
    ``table``, then rows ``startRow``..``endRow`` (at most ``max_rows``) built with
    ``make_row(table, index)``.

    ``aliases`` names the field to filter and sort on for a displayed column (the city
    table's building link is filtered and sorted by the plain name). Missing values sort
    last in both directions; unknown columns are ignored. Returns
    ``{"rowData": [...], "rowCount": n}`` with ``n`` the number of rows after filtering.
    """
    request = request if isinstance(request, dict) else {}
    aliases = aliases or {}
    size = len(next(iter(table.values()), []))
    chosen = list(range(size))
    filter_model = request.get("filterModel") or {}
    if isinstance(filter_model, dict):
        for column, condition in filter_model.items():
            values = table.get(aliases.get(column, column))
            if values is None or not isinstance(condition, dict):
                continue
            chosen = [i for i in chosen if condition_matches(condition, values[i])]
    sort_model = request.get("sortModel") or []
    if isinstance(sort_model, list):
        for item in reversed([s for s in sort_model if isinstance(s, dict)]):
            column = str(item.get("colId"))
            values = table.get(aliases.get(column, column))
            if values is None:
                continue
            present = [i for i in chosen if values[i] is not None]
            absent = [i for i in chosen if values[i] is None]
            present.sort(key=values.__getitem__, reverse=item.get("sort") == "desc")
            chosen = present + absent
    try:
        start = max(int(request.get("startRow") or 0), 0)
        end = int(request.get("endRow") if request.get("endRow") is not None else start + 100)
    except (TypeError, ValueError):
        start, end = 0, 100
    end = min(max(end, start), start + max_rows)
    return {"rowData": [make_row(table, i) for i in chosen[start:end]], "rowCount": len(chosen)}


def trigger_labels(flags: dict[str, Any], lang: str) -> str:
    """Localised, separated names of the triggers that hold in a row of the engine's list."""
    from dashboard.frames import RETROFIT_TRIGGERS

    names = [t(f"trigger_{code}", lang) for code in RETROFIT_TRIGGERS if bool(flags.get(code))]
    return ", ".join(names) if lang == "en" else "、".join(names)


def retrofit_grid(ranked: pd.DataFrame, lang: str) -> tuple[list[Column], list[Row]]:
    """Columns and rows of the ranked retrofit list (from :func:`frames.retrofit_list`)."""

    def num(field: str, key: str, width: int, fmt: dict[str, str] = THOUSANDS) -> Column:
        return {**number_column(field, t(key, lang), width), "valueFormatter": fmt}

    columns = [
        # No filter on the rank: its menu icon would squeeze the header into "Ran k".
        {**number_column("rank", t("col_rank", lang), 80), "pinned": "left", "filter": False},
        {
            **text_column("building", t("col_building", lang), 170),
            "cellRenderer": "markdown",
            "tooltipField": "name",
            "pinned": "left",
        },
        num("savings_kwh", "col_savings_kwh", 120),
        num("savings_cny", "col_savings_cny", 115),
        text_column("savings_source", t("col_savings_source", lang), 120),
        text_column("triggers", t("col_triggers", lang), 260),
        {
            **status_column(t("col_status", lang)),
            # The longest English name takes two lines (the cell wraps).
            "minWidth": 200 if lang == "en" else 140,
            "width": 200 if lang == "en" else 140,
        },
        num("utilization_pct", "col_utilization_pct", 120, ONE_DECIMAL),
        num("savings_kgce", "col_savings_kgce", 120),
        num("savings_tco2", "col_savings_tco2", 110, ONE_DECIMAL),
        num("eui_kwh_per_m2", "col_eui", 110, ONE_DECIMAL),
        num("corrected_eui", "col_corrected_eui", 120, ONE_DECIMAL),
        num("target_eui", "col_target_eui", 110, ONE_DECIMAL),
        text_column("district", t("col_district", lang), 105),
        text_column("type", t("col_type", lang), 150 if lang == "en" else 110),
        num("floor_area_m2", "col_floor_area_m2", 110),
        text_column("building_id", t("col_building_id", lang), 100),
        text_column("name", t("col_name", lang), 160),
    ]
    rows = [
        {
            "rank": int(rec["rank"]),
            "building_id": rec["building_id"],
            "name": rec["name"],
            "district": rec["district"],
            "type": type_name(rec, lang),
            "floor_area_m2": _num(rec["floor_area_m2"]),
            "status_code": rec["status"],
            "status": status_label(rec["status"], lang),
            "utilization_pct": _pct(rec["utilization"]),
            "eui_kwh_per_m2": _num(rec["eui_kwh_per_m2"], 1),
            "corrected_eui": _num(rec["corrected_eui_kwh_per_m2"], 1),
            "target_eui": _num(rec["target_eui_kwh_per_m2"], 1),
            "savings_kwh": _num(rec["savings_kwh_per_year"]),
            "savings_kgce": _num(rec["savings_kgce_per_year"]),
            "savings_tco2": _num(rec["savings_tco2_per_year"], 2),
            "savings_cny": _num(rec["savings_cny_per_year"]),
            "savings_source": t(f"savings_source_{rec.get('savings_source') or 'none'}", lang),
            "building": markdown_link(str(rec["name"]), f"/building/{rec['building_id']}"),
            "triggers": trigger_labels(rec, lang),
        }
        for rec in ranked.to_dict("records")
    ]
    return columns, rows


def meters_grid(
    meters: pd.DataFrame, start: date, end: date, lang: str
) -> tuple[list[Column], list[Row]]:
    """A building's meters with data completeness over local days [start, end) [%] and
    their last day with data."""
    from dashboard.frames import completeness_share

    columns = [
        text_column("meter_id", t("col_meter_id", lang), 140),
        text_column("energy_type", t("col_energy_type", lang), 110),
        text_column("unit", t("col_unit", lang), 80),
        number_column("completeness_pct", t("col_completeness_pct", lang), 150),
        text_column("last_day", t("col_last_day", lang), 140),
    ]
    rows = [
        {
            "meter_id": rec["meter_id"],
            "energy_type": t(f"energy_{rec['energy_type']}", lang),
            "unit": rec["unit"],
            "completeness_pct": _pct(completeness_share(rec["covered_hours"] or 0, start, end)),
            "last_day": _text(rec["last_day"]) or t("never", lang),
        }
        for rec in meters.to_dict("records")
    ]
    return columns, rows


def simple_grid(
    frame: pd.DataFrame,
    fields: Sequence[tuple[str, str, str]],
    lang: str,
    tz: Any = None,
) -> tuple[list[Column], list[Row]]:
    """A grid of ``fields`` = (column, text key, kind) with kind ``text``|``number``|``time``
    |``word:PREFIX`` (a code shown as the text ``PREFIX_code``, the code itself when there
    is none). Times are shown as ``YYYY-MM-DD HH:MM`` in ``tz`` (the quota time zone),
    which the header names."""
    zone = getattr(tz, "key", None)

    def header(key: str, kind: str) -> str:
        text = t(key, lang)
        return f"{text} ({zone})" if kind == "time" and zone else text

    long_texts = ("message", "raw_row", "error")
    columns = [
        # 150 px: "Quarantined rows" beside its filter icon without breaking a word.
        {**number_column(name, t(key, lang), 150), "valueFormatter": THOUSANDS}
        if kind == "number"
        else {
            **text_column(
                name,
                header(key, kind),
                {"time": 170}.get(
                    kind, 300 if name in long_texts else 180 if name == "detail" else 130
                ),
            ),
            # Long texts share the grid's spare width (fewer wrapped lines).
            **({"flex": 1} if name in long_texts else {}),
        }
        for name, key, kind in fields
    ]
    rows = []
    for rec in frame.to_dict("records"):
        row: Row = {}
        for name, _key, kind in fields:
            value = rec.get(name)
            if kind == "number":
                row[name] = _num(value)
            elif (
                kind == "time"
                and isinstance(value, datetime)
                and value is not pd.NaT
                and value.tzinfo
                and tz
            ):
                row[name] = _text(value.astimezone(tz))
            elif kind.startswith("word:"):
                row[name] = word(kind[5:], value, lang)
            else:
                row[name] = _text(value)
        rows.append(row)
    return columns, rows


def word(prefix: str, code: Any, lang: str) -> str:
    """The text ``PREFIX_code`` in ``lang`` (reason codes also in their dotted form
    ``reading.code``); the code itself when no text exists."""
    text = _text(code)
    plain = text.split(".", 1)[1] if text.startswith("reading.") else text
    try:
        return t(f"{prefix}_{plain}", lang)
    except KeyError:
        return text


# ------------------------------------------------------------------------------------------
# Exports: exactly the rows and columns on screen
# ------------------------------------------------------------------------------------------
def visible_rows(rows: Sequence[Row], shown: Sequence[Row] | None, key: str) -> list[Row]:
    """The server's ``rows`` restricted to and ordered like the rows the grid shows
    (``shown``, the grid's filtered and sorted ``virtualRowData``), matched on ``key``.

    Only the keys come from the browser; the values exported are the server's own, so a
    crafted request cannot add rows the viewer may not see. ``shown`` None means all rows.
    """
    if shown is None:
        return list(rows)
    by_key = {row[key]: row for row in rows}
    return [
        by_key[item[key]] for item in shown if isinstance(item, dict) and item.get(key) in by_key
    ]


def export_frame(columns: Sequence[Column], rows: Sequence[Row]) -> pd.DataFrame:
    """The table as a DataFrame with the on-screen headers, in column order."""
    data = {col["headerName"]: [row.get(col["field"]) for row in rows] for col in columns}
    return pd.DataFrame(data, columns=[col["headerName"] for col in columns])


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with a byte-order mark (opens with Chinese intact in Excel); text a
    spreadsheet would run as a formula is written as text (:mod:`quota.spreadsheets`)."""
    return spreadsheets.csv_bytes(list(table.columns), table.itertuples(index=False, name=None))


def to_xlsx_bytes(table: pd.DataFrame, sheet_name: str = "QuotaWatch") -> bytes:
    """An XLSX workbook with one sheet holding the table: text cells always as text, a bold,
    frozen header row with an autofilter, and number formats (:mod:`quota.spreadsheets`)."""
    return spreadsheets.xlsx_bytes(
        list(table.columns), table.itertuples(index=False, name=None), sheet_name
    )
