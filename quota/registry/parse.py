"""The building registry files: parsing and validating buildings, meters and quotas (pure).

Formats (header row required, extra columns ignored, UTF-8 with or without BOM, GB18030/GBK):

- buildings: ``building_id,name,district,building_type,floor_area_m2[,public_use_share,
  commissioned_year,latitude,longitude,operating_hours_per_year,area_per_person_m2,
  effective_from]`` (``effective_from``: the local date from which floor area, type and
  public-use share apply; default the day of the import)
- meters: ``meter_id,building_id,energy_type,unit[,reading_kind,multiplier,register_max,
  interval_minutes,register_digits,max_power_kw]``; ``register_max`` is the largest value a
  cumulative register shows (99999 for a five-digit register), ``register_digits`` an
  alternative (5 gives register_max 99999); see :func:`register_modulus`
- quotas: ``building_id,year,basis,limit_value`` (``limit_value``, the year's quota limit, in
  kWh for ``electricity_kwh``, in kgce for ``energy_kgce``); the older header spelling
  ``limit`` is still accepted for ``limit_value``
- accounts: ``account_id,building_id,energy_type,unit[,share,utility,account_name]``, one row
  per utility account and building it serves; ``share`` 0-1 or ``60%`` (default 1); the
  shares of one account add up to 1 (±0.001) and its rows name one energy type and unit,
  otherwise every row of that account is refused (``shares_do_not_add_up``,
  ``inconsistent_account``)

Each row becomes a typed record or a :class:`RowError` with its line number and a reason
code; a file whose header lacks a required column raises
:class:`~quota.registry.textfiles.FileFormatError` (it cannot be used at all).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from quota.registry.textfiles import FileFormatError, read_csv_rows
from quota.registry.units import ENERGY_TYPES, UnitError, check_unit

# Building types: code -> Chinese name. Kept equal to the seed rows of the building_type table
# (a test checks both agree).
BUILDING_TYPES: dict[str, str] = {
    "office_government": "政府办公",
    "office_commercial": "商业办公",
    "mall": "商场",
    "hotel": "酒店",
    "hospital": "医院",
    "school": "中小学",
    "university": "高校",
    "culture": "文化",
    "sports": "体育",
    "transport": "交通",
    "other": "其他",
}
_TYPE_BY_NAME = {**{k: k for k in BUILDING_TYPES}, **{v: k for k, v in BUILDING_TYPES.items()}}
_ENERGY_TYPE_ALIASES = {
    **{t: t for t in ENERGY_TYPES},
    "electric": "electricity",
    "gas": "natural_gas",
    "heat": "district_heat",
    "电": "electricity",
    "电力": "electricity",
    "天然气": "natural_gas",
    "燃气": "natural_gas",
    "热力": "district_heat",
    "集中供热": "district_heat",
}
BASES = ("electricity_kwh", "energy_kgce")
READING_KINDS = ("interval", "cumulative")
DEFAULT_INTERVAL_MINUTES = 60
MAX_REGISTER_DIGITS = 15  # a float holds 15 significant digits exactly


def register_step(register_max: float) -> float:
    """The register's last-digit step, from the decimals of its largest value [meter unit]:
    1 for 99999, 0.1 for 9999.9, 0.01 for 999.99 (at most 6 decimals)."""
    exponent = Decimal(repr(float(register_max))).normalize().as_tuple().exponent
    decimals = min(max(-int(exponent), 0), 6)  # type: ignore[arg-type]
    return 10.0**-decimals


def register_modulus(register_max: float) -> float:
    """The value at which a register wraps to 0 [meter unit]: its largest value plus one
    step of its last digit. A five-digit register shows 0…99999 (``register_max`` 99999) and
    wraps at 100000: a rollover from 99990 to 5 is 15 units; 9999.9 wraps at 10000."""
    return round(register_max + register_step(register_max), 6)


def register_max_of_digits(digits: int) -> float:
    """``register_max`` of a register of ``digits`` whole digits (5 → 99999)."""
    return float(10**digits - 1)


@dataclass(frozen=True)
class RowError:
    """Why one row of a registry file was refused."""

    line: int
    reason: str  # stable code, e.g. "bad_number", "unknown_building_type"
    message: str
    raw: str = ""


class InvalidRowError(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class ParsedFile:
    """Records and errors of one registry file."""

    kind: str
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0

    def error_dicts(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.errors]


# -- field parsers ---------------------------------------------------------------------------
def _text(value: str, name: str, *, required: bool) -> str | None:
    value = value.strip()
    if not value:
        if required:
            raise InvalidRowError("missing_value", f"{name} is empty")
        return None
    return value


def _number(value: str, name: str, *, required: bool = False) -> float | None:
    text = value.strip().replace(",", "").replace("，", "")
    if not text:
        if required:
            raise InvalidRowError("missing_value", f"{name} is empty")
        return None
    try:
        number = float(text)
    except ValueError:
        raise InvalidRowError("bad_number", f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InvalidRowError("bad_number", f"{name} {value!r} is not a finite number")
    return number


def _positive(value: str, name: str, *, required: bool = False) -> float | None:
    number = _number(value, name, required=required)
    if number is not None and number <= 0:
        raise InvalidRowError("out_of_range", f"{name} must be greater than 0, got {value.strip()}")
    return number


def _integer(value: str, name: str, low: int, high: int, *, required: bool = False) -> int | None:
    number = _number(value, name, required=required)
    if number is None:
        return None
    if number != int(number):
        raise InvalidRowError("bad_number", f"{name} {value.strip()!r} is not a whole number")
    if not low <= number <= high:
        raise InvalidRowError(
            "out_of_range", f"{name} must be between {low} and {high}, got {value}"
        )
    return int(number)


def _in_range(value: str, name: str, low: float, high: float) -> float | None:
    number = _number(value, name)
    if number is not None and not low <= number <= high:
        raise InvalidRowError("out_of_range", f"{name} must be between {low:g} and {high:g}")
    return number


def _share(value: str, name: str) -> float | None:
    text = value.strip()
    if text.endswith("%"):
        number = _number(text[:-1], name)
        return None if number is None else _check_share(number / 100, name)
    number = _number(text, name)
    return None if number is None else _check_share(number, name)


def _check_share(number: float, name: str) -> float:
    if not 0 <= number <= 1:
        raise InvalidRowError(
            "out_of_range", f"{name} must be a share between 0 and 1 (or 0-100 %)"
        )
    return number


# -- row parsers -----------------------------------------------------------------------------
def _building(get: Callable[[str], str]) -> dict[str, Any]:
    type_text = get("building_type").strip()
    building_type = _TYPE_BY_NAME.get(type_text) or _TYPE_BY_NAME.get(type_text.lower())
    if building_type is None:
        raise InvalidRowError(
            "unknown_building_type",
            f"building_type {type_text!r} is not one of {', '.join(BUILDING_TYPES)} "
            f"(or {', '.join(BUILDING_TYPES.values())})",
        )
    share = _share(get("public_use_share"), "public_use_share")
    return {
        "building_id": _text(get("building_id"), "building_id", required=True),
        "name": _text(get("name"), "name", required=True),
        "district": _text(get("district"), "district", required=True),
        "building_type": building_type,
        "floor_area_m2": _positive(get("floor_area_m2"), "floor_area_m2", required=True),
        "public_use_share": 1.0 if share is None else share,
        "commissioned_year": _integer(get("commissioned_year"), "commissioned_year", 1800, 2200),
        "latitude": _in_range(get("latitude"), "latitude", -90, 90),
        "longitude": _in_range(get("longitude"), "longitude", -180, 180),
        "operating_hours_per_year": _operating_hours(get("operating_hours_per_year")),
        "area_per_person_m2": _positive(get("area_per_person_m2"), "area_per_person_m2"),
        "effective_from": _date(get("effective_from"), "effective_from"),
    }


def _date(value: str, name: str) -> date | None:
    """An optional ISO date (YYYY-MM-DD)."""
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRowError(
            "invalid_date", f"{name} {text!r} is not a date (YYYY-MM-DD)"
        ) from None


def _operating_hours(value: str) -> float | None:
    hours = _positive(value, "operating_hours_per_year")
    if hours is not None and hours > 8784:
        raise InvalidRowError("out_of_range", "operating_hours_per_year cannot exceed 8784 h")
    return hours


def _energy_type_and_unit(get: Callable[[str], str]) -> tuple[str, str]:
    """The energy type (Chinese and short names accepted) and its canonical unit."""
    type_text = get("energy_type").strip()
    energy_type = _ENERGY_TYPE_ALIASES.get(type_text.lower()) or _ENERGY_TYPE_ALIASES.get(type_text)
    if energy_type is None:
        raise InvalidRowError(
            "unknown_energy_type",
            f"energy_type {type_text!r} is not one of {', '.join(ENERGY_TYPES)}",
        )
    try:
        unit = check_unit(energy_type, get("unit"))
    except UnitError as exc:
        raise InvalidRowError("bad_unit", str(exc)) from None
    return energy_type, unit


def _meter(get: Callable[[str], str]) -> dict[str, Any]:
    energy_type, unit = _energy_type_and_unit(get)
    kind = get("reading_kind").strip().lower() or "interval"
    if kind not in READING_KINDS:
        raise InvalidRowError(
            "bad_reading_kind", f"reading_kind {kind!r} is not interval or cumulative"
        )
    register_max = _positive(get("register_max"), "register_max")
    digits = _integer(get("register_digits"), "register_digits", 1, MAX_REGISTER_DIGITS)
    if digits is not None:
        implied = register_max_of_digits(digits)
        if register_max is not None and register_max != implied:
            raise InvalidRowError(
                "out_of_range",
                f"register_digits {digits} means register_max {implied:.0f}, "
                f"but register_max is {get('register_max').strip()}",
            )
        register_max = implied
    if register_max is not None and kind != "cumulative":
        raise InvalidRowError(
            "out_of_range", "register_max and register_digits apply to cumulative meters only"
        )
    multiplier = _positive(get("multiplier"), "multiplier")
    interval = _integer(get("interval_minutes"), "interval_minutes", 1, 1440)
    max_power_kw = _positive(get("max_power_kw"), "max_power_kw")
    return {
        "meter_id": _text(get("meter_id"), "meter_id", required=True),
        "building_id": _text(get("building_id"), "building_id", required=True),
        "energy_type": energy_type,
        "unit": unit,
        "reading_kind": kind,
        "multiplier": 1.0 if multiplier is None else multiplier,
        "register_max": register_max,
        "interval_minutes": DEFAULT_INTERVAL_MINUTES if interval is None else interval,
        "max_power_kw": max_power_kw,
    }


def _quota(get: Callable[[str], str]) -> dict[str, Any]:
    basis = get("basis").strip().lower()
    if basis not in BASES:
        raise InvalidRowError("bad_basis", f"basis {basis!r} is not one of {', '.join(BASES)}")
    return {
        "building_id": _text(get("building_id"), "building_id", required=True),
        "year": _integer(get("year"), "year", 1990, 2200, required=True),
        "basis": basis,
        "limit_value": _positive(get("limit_value"), "limit_value", required=True),
    }


def _account(get: Callable[[str], str]) -> dict[str, Any]:
    energy_type, unit = _energy_type_and_unit(get)
    share = _share(get("share"), "share")
    return {
        "account_id": _text(get("account_id"), "account_id", required=True),
        "building_id": _text(get("building_id"), "building_id", required=True),
        "energy_type": energy_type,
        "unit": unit,
        "share": 1.0 if share is None else share,
        "utility": _text(get("utility"), "utility", required=False),
        "account_name": _text(get("account_name"), "account_name", required=False),
    }


# The shares of one account's buildings add up to 1 within this tolerance.
SHARE_SUM_TOLERANCE = 0.001


def account_errors(records: list[dict[str, Any]], raw: dict[int, str]) -> list[RowError]:
    """File-level rules of an accounts file: per account, the shares add up to 1
    (±:data:`SHARE_SUM_TOLERANCE`) and every row names the same energy type and unit.
    Every row of a failing account is reported."""
    by_account: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_account.setdefault(record["account_id"], []).append(record)
    errors: list[RowError] = []
    for account_id, rows in by_account.items():
        kinds = {(r["energy_type"], r["unit"]) for r in rows}
        total = sum(r["share"] for r in rows)
        if len(kinds) > 1:
            reason = "inconsistent_account"
            message = (
                f"account {account_id!r} names more than one energy type or unit "
                f"({', '.join(f'{t} {u}' for t, u in sorted(kinds))})"
            )
        elif abs(total - 1.0) > SHARE_SUM_TOLERANCE:
            reason = "shares_do_not_add_up"
            message = (
                f"the shares of account {account_id!r} add up to {total:.4g}, not 1 "
                f"(lines {', '.join(str(r['_line']) for r in rows)})"
            )
        else:
            continue
        errors.extend(RowError(r["_line"], reason, message, raw.get(r["_line"], "")) for r in rows)
    return errors


@dataclass(frozen=True)
class FileSpec:
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: tuple[str, ...]
    parse: Callable[[Callable[[str], str]], dict[str, Any]]
    # Columns read from the file but not stored as such (register_digits gives register_max).
    input_only: tuple[str, ...] = ()
    # Older header spellings still accepted: older name -> current name.
    older_names: dict[str, str] = field(default_factory=dict)


SPECS: dict[str, FileSpec] = {
    "buildings": FileSpec(
        "buildings",
        ("building_id", "name", "district", "building_type", "floor_area_m2"),
        (
            "public_use_share",
            "commissioned_year",
            "latitude",
            "longitude",
            "operating_hours_per_year",
            "area_per_person_m2",
        ),
        ("building_id",),
        _building,
    ),
    "meters": FileSpec(
        "meters",
        ("meter_id", "building_id", "energy_type", "unit"),
        (
            "reading_kind",
            "multiplier",
            "register_max",
            "interval_minutes",
            "register_digits",
            "max_power_kw",
        ),
        ("meter_id",),
        _meter,
        input_only=("register_digits",),
    ),
    "quotas": FileSpec(
        "quotas",
        ("building_id", "year", "basis", "limit_value"),
        (),
        ("building_id", "year", "basis"),
        _quota,
        older_names={"limit": "limit_value"},
    ),
    "accounts": FileSpec(
        "accounts",
        ("account_id", "building_id", "energy_type", "unit"),
        ("share", "utility", "account_name"),
        ("account_id", "building_id"),
        _account,
    ),
}


def parse_registry(kind: str, text: str) -> ParsedFile:
    """Parse a registry CSV text of ``kind`` (buildings, meters, quotas or accounts)."""
    spec = SPECS[kind]
    header, rows = read_csv_rows(text)
    header = current_names(header, spec.older_names)
    missing = [c for c in spec.required if c not in header]
    if missing:
        raise FileFormatError(
            f"{kind} file lacks required column(s) {', '.join(missing)}; "
            f"expected header {','.join(spec.required)}[,{','.join(spec.optional)}]"
            if spec.optional
            else f"{kind} file lacks required column(s) {', '.join(missing)}; "
            f"expected header {','.join(spec.required)}"
        )
    index = {name: i for i, name in enumerate(header) if name}
    result = ParsedFile(kind=kind, rows_read=len(rows))
    seen: dict[tuple[Any, ...], int] = {}
    for line, fields, raw in rows:
        if len(fields) < len(spec.required) or len(fields) > len(header):
            result.errors.append(
                RowError(
                    line,
                    "malformed_row",
                    f"expected {len(header)} fields, found {len(fields)}",
                    raw,
                )
            )
            continue

        def get(name: str, fields: list[str] = fields) -> str:
            i = index.get(name)
            return fields[i] if i is not None and i < len(fields) else ""

        try:
            record = spec.parse(get)
        except InvalidRowError as exc:
            result.errors.append(RowError(line, exc.reason, str(exc), raw))
            continue
        key = tuple(record[k] for k in spec.key)
        if key in seen:
            result.errors.append(
                RowError(
                    line,
                    "duplicate_key",
                    f"{'/'.join(map(str, key))} already appears on line {seen[key]}",
                    raw,
                )
            )
            continue
        seen[key] = line
        record["_line"] = line
        result.records.append(record)
    if kind == "accounts":
        raw_by_line = {line: raw for line, _fields, raw in rows}
        result.errors.extend(account_errors(result.records, raw_by_line))
        result.errors.sort(key=lambda e: e.line)
    return result


def current_names(header: list[str], older_names: dict[str, str]) -> list[str]:
    """The header with older spellings renamed to the current ones (``limit`` ->
    ``limit_value``), unless the file also has the current column (which then wins)."""
    return [
        older_names[name] if name in older_names and older_names[name] not in header else name
        for name in header
    ]


def file_columns(kind: str) -> tuple[str, ...]:
    """The columns of a registry file of ``kind``, required first, in the documented order."""
    spec = SPECS[kind]
    return spec.required + spec.optional


def stored_columns(kind: str) -> tuple[str, ...]:
    """The columns of a registry file of ``kind`` that are stored as they are (without the
    input-only ones such as ``register_digits``)."""
    spec = SPECS[kind]
    return tuple(c for c in file_columns(kind) if c not in spec.input_only)
