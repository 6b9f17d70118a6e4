"""Validating raw rows against the meter registry (pure): typed rows + rejects with reasons.

Input is a :class:`ingest.parse.RawBatch`; output a DataFrame of good rows (meter key,
instant, value as sent, canonical unit, kWh per unit, meter properties) and a DataFrame of
rejected rows (batch row, reason code, message, details). Each row gets the first reason that
applies, in the order of :data:`ingest.codes.REASONS`. Work is vectorised: distinct meter
ids, timestamps and (meter, unit) pairs are resolved once each, so a batch of 100,000 hourly
rows of 1,000 meters parses a few thousand timestamps, not 100,000.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ingest import codes, column_memo
from ingest.parse import RawBatch
from ingest.plausibility import Plausibility, plausibility, too_early, too_powerful
from ingest.timestamps import TimestampError, parse_timestamp
from quota.registry.parse import register_modulus
from quota.registry.units import UnitError, check_unit, kwh_per_unit

# Readings up to this far ahead of the clock are accepted (gateway clock skew) [µs]; the
# default of ``future_tolerance_minutes`` in the ``[ingest]`` rules.
FUTURE_TOLERANCE_US = 5 * 60 * 1_000_000


@dataclass(frozen=True)
class MeterInfo:
    """What validation and loading need to know about one registered meter."""

    meter_key: int
    meter_id: str
    building_id: str
    energy_type: str
    unit: str
    reading_kind: str = "interval"
    multiplier: float = 1.0
    register_max: float | None = None
    interval_minutes: int | None = None
    max_power_kw: float | None = None

    @property
    def is_cumulative(self) -> bool:
        return self.reading_kind == "cumulative"

    @property
    def register_modulus(self) -> float | None:
        """The value at which the register wraps to 0, in the meter's unit: one step of its
        last digit more than ``register_max``, the largest value the register shows (99999
        for five digits wraps at 100000; see :func:`quota.registry.parse.register_modulus`)."""
        return None if self.register_max is None else register_modulus(self.register_max)


@dataclass(frozen=True)
class Registry:
    """The meter registry by meter_id, plus the natural-gas energy content [kWh/m³]."""

    meters: dict[str, MeterInfo]
    natural_gas_kwh_per_m3: float

    def by_key(self) -> dict[int, MeterInfo]:
        return {m.meter_key: m for m in self.meters.values()}

    def factor(self, meter: MeterInfo, unit: str) -> float:
        """kWh per ``unit`` for ``meter``'s energy type [kWh/unit]."""
        return _kwh_per_unit(meter.energy_type, unit, self.natural_gas_kwh_per_m3)


REJECT_COLUMNS = ["row", "reason_code", "message", "meter_id", "details"]
GOOD_COLUMNS = [
    "row",
    "line_number",
    "meter_key",
    "reading_at_us",
    "value",
    "unit",
    "kwh_per_unit",
    "multiplier",
    "is_cumulative",
]


@functools.lru_cache(maxsize=1024)
def _kwh_per_unit(energy_type: str, unit: str, natural_gas_kwh_per_m3: float) -> float:
    return kwh_per_unit(energy_type, unit, natural_gas_kwh_per_m3)


def parse_values(texts: np.ndarray) -> np.ndarray:
    """Numbers from text [float64]; anything that is not a number gives NaN."""
    return pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def _timestamps(texts: np.ndarray, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """(µs since epoch, error message or "") of each of ``texts`` (a long column is
    remembered whole: files of one year repeat it, see :mod:`ingest.column_memo`)."""
    if len(texts) < column_memo.MIN_VALUES:
        return _each_timestamp(texts, tz)
    key = column_memo.text_key(texts)
    return _STAMP_COLUMNS.get(
        None if key is None else (str(tz), key), lambda: _each_timestamp(texts, tz)
    )


_STAMP_COLUMNS: column_memo.ColumnMemo[tuple[np.ndarray, np.ndarray]] = column_memo.ColumnMemo()


def _each_timestamp(texts: np.ndarray, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """(µs since epoch, error message or "") of each of ``texts``, one by one."""
    parsed = np.zeros(len(texts), dtype=np.int64)
    errors = np.full(len(texts), "", dtype=object)
    for i, text in enumerate(texts):
        parsed[i], errors[i] = _timestamp(text, tz)
    return parsed, errors


# Files of one building and year repeat the same 8,760 timestamps building after building:
# parsed once (≈ 8 µs each) and then looked up (a year of 15-minute stamps is 35,040).
@functools.lru_cache(maxsize=200_000)
def _timestamp(text: str, tz: ZoneInfo) -> tuple[int, str]:
    """(µs since epoch, "") of ``text``, or (0, error message)."""
    try:
        return parse_timestamp(text, tz), ""
    except TimestampError as exc:
        return 0, str(exc)


def _pair_codes(
    first: np.ndarray, second: np.ndarray, n_second: int
) -> tuple[np.ndarray, np.ndarray]:
    """(per row an index into the distinct pairs, the distinct pairs as
    ``first * n_second + second``) of two code columns (``0 <= second < n_second``)."""
    pair = first.astype(np.int64) * n_second + second
    size = (int(first.max()) + 1) * n_second if len(first) else 0
    if size > 4 * len(pair) + 1024:  # sparse: hash the pairs
        codes, uniques = pd.factorize(pair, sort=False)
        return codes, uniques
    seen = np.zeros(size, dtype=bool)
    seen[pair] = True
    uniques = np.flatnonzero(seen)
    index = np.zeros(size, dtype=np.intp)
    index[uniques] = np.arange(len(uniques))
    return index[pair], uniques


class _Rejects:
    """Rejected rows as checks find them: each row gets the first reason that applies."""

    def __init__(self, n: int):
        self.pending = np.ones(n, dtype=bool)
        self.parts: list[tuple[np.ndarray, str, np.ndarray]] = []

    def add(self, mask: np.ndarray, code: str, texts: str | np.ndarray) -> None:
        """Reject the pending rows of ``mask`` with ``code`` and a message: ``texts`` is one
        text for all, or one per row."""
        rows = np.flatnonzero(mask & self.pending)
        if not len(rows):
            return
        self.pending[rows] = False
        messages = texts[rows] if isinstance(texts, np.ndarray) else np.full(len(rows), texts)
        self.parts.append((rows, code, messages.astype(object)))

    def frame(self, batch: RawBatch) -> pd.DataFrame:
        """The rejected rows in batch order, with details reproducing the decision."""
        if not self.parts:
            return pd.DataFrame(columns=REJECT_COLUMNS)
        rows = np.concatenate([p[0] for p in self.parts])
        reason = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in self.parts])
        message = np.concatenate([p[2] for p in self.parts])
        order = np.argsort(rows, kind="stable")
        rows, reason, message = rows[order], reason[order], message[order]
        details = [
            {
                "code": codes.dotted(str(code)),
                "meter_id": batch.meter_id[r],
                "timestamp": batch.timestamp[r],
                "value": batch.value_text(r),
                "unit": batch.unit[r],
            }
            for r, code in zip(rows.tolist(), reason, strict=True)
        ]
        return pd.DataFrame(
            {
                "row": rows,
                "reason_code": reason,
                "message": message,
                "meter_id": batch.meter_id[rows].to_numpy(),
                "details": details,
            },
            columns=REJECT_COLUMNS,
        )


def validate_batch(
    batch: RawBatch,
    registry: Registry,
    tz: ZoneInfo,
    now_us: int,
    future_tolerance_us: int = FUTURE_TOLERANCE_US,
    limits: Plausibility | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(good rows, rejected rows) of ``batch``; see the module docstring for the columns.
    Readings later than ``now_us + future_tolerance_us`` [µs] are ``future_timestamp``;
    ``limits`` (default: the defaults of :mod:`ingest.plausibility`) gives the earliest
    plausible instant and the default power ceiling."""
    if limits is None:
        limits = plausibility({}, tz)
    rejects = _Rejects(len(batch))
    malformed = batch.malformed
    if malformed.any():
        rejects.add(malformed, codes.MALFORMED_ROW, batch.malformed_message)

    # Meters: each distinct id looked up once.
    meter_codes, meter_uniques = batch.meter_id.codes, batch.meter_id.texts
    infos = [registry.meters.get(m) for m in meter_uniques]
    known_u = np.array([i is not None for i in infos], dtype=bool)
    if not known_u.all():
        unknown_text = np.array([f"meter {m!r} is not registered" for m in meter_uniques], object)
        rejects.add(~known_u[meter_codes], codes.UNKNOWN_METER, unknown_text[meter_codes])

    # Timestamps: each distinct text parsed once.
    stamp_codes = batch.timestamp.codes
    stamps_u, stamp_errors_u = _timestamps(batch.timestamp.texts, tz)
    reading_at_us = stamps_u[stamp_codes]
    bad_stamp_u = stamp_errors_u != ""
    if bad_stamp_u.any():
        rejects.add(bad_stamp_u[stamp_codes], codes.BAD_TIMESTAMP, stamp_errors_u[stamp_codes])
    early_u = too_early(stamps_u, limits) & ~bad_stamp_u
    if early_u.any():
        rejects.add(
            early_u[stamp_codes],
            codes.IMPLAUSIBLE_TIMESTAMP,
            f"timestamp is before {limits.earliest_date.isoformat()} (earliest_reading_date)",
        )

    values = batch.value if batch.value.dtype.kind == "f" else parse_values(batch.value)
    finite = np.isfinite(values)
    rejects.add(~finite, codes.BAD_VALUE, "value is not a finite number")
    with np.errstate(invalid="ignore"):
        rejects.add(finite & (values < 0), codes.NEGATIVE_VALUE, "value is negative")

    # Units: each distinct (meter, unit) pair checked once.
    unit_codes, unit_uniques = batch.unit.codes, batch.unit.texts
    n_units = max(len(unit_uniques), 1)
    pair_codes, pair_uniques = _pair_codes(meter_codes, unit_codes, n_units)
    canon = np.full(len(pair_uniques), "", dtype=object)
    factor = np.full(len(pair_uniques), np.nan)
    unit_error = np.full(len(pair_uniques), "", dtype=object)
    for i, key in enumerate(pair_uniques.tolist()):
        info = infos[key // n_units]
        if info is None:
            continue
        sent = unit_uniques[key % n_units] if len(unit_uniques) else ""
        try:
            canon[i] = _checked_unit(info.energy_type, sent) if sent else info.unit
            factor[i] = registry.factor(info, canon[i])
        except UnitError as exc:
            unit_error[i] = str(exc)
    bad_unit_u = unit_error != ""
    if bad_unit_u.any():
        rejects.add(bad_unit_u[pair_codes], codes.BAD_UNIT, unit_error[pair_codes])

    meter_key_u = np.array([i.meter_key if i else -1 for i in infos], dtype=np.int64)
    multiplier_u = np.array([i.multiplier if i else 1.0 for i in infos], dtype=np.float64)
    cumulative_u = np.array([bool(i and i.is_cumulative) for i in infos], dtype=bool)
    # Power: an interval reading's energy over its meter's interval; a cumulative register
    # that is not even a finite number of kWh (its use is checked against its span later).
    ceiling_u = np.array(
        [i.max_power_kw if i and i.max_power_kw else limits.max_power_kw for i in infos],
        dtype=np.float64,
    )
    span_us_u = np.array(
        [(i.interval_minutes or 60) * 60_000_000 if i else 3_600_000_000 for i in infos],
        dtype=np.float64,
    )
    with np.errstate(invalid="ignore", over="ignore"):
        energy_kwh = values * factor[pair_codes] * multiplier_u[meter_codes]
        implausible = np.where(
            cumulative_u[meter_codes],
            ~np.isfinite(energy_kwh),
            too_powerful(energy_kwh, span_us_u[meter_codes], ceiling_u[meter_codes]),
        )
    implausible &= finite & ~np.isnan(factor[pair_codes])
    if implausible.any():
        rejects.add(
            implausible,
            codes.IMPLAUSIBLE_VALUE,
            _power_messages(values, canon, pair_codes, meter_codes, ceiling_u, implausible),
        )

    future = reading_at_us > now_us + future_tolerance_us
    if future.any():
        rejects.add(
            future & ~bad_stamp_u[stamp_codes], codes.FUTURE_TIMESTAMP, "timestamp is in the future"
        )

    if cumulative_u.any():
        # A cumulative register above the largest value it shows cannot be read.
        modulus_kwh_u = np.array(
            [
                i.register_modulus * registry.factor(i, i.unit)
                if i and i.is_cumulative and i.register_modulus is not None
                else math.inf
                for i in infos
            ],
            dtype=np.float64,
        )
        with np.errstate(invalid="ignore"):
            over = cumulative_u[meter_codes] & (
                values * factor[pair_codes] >= modulus_kwh_u[meter_codes]
            )
        rejects.add(
            over,
            codes.ABOVE_REGISTER_MAX,
            "register reading is above register_max (a value the register cannot show)",
        )

    if rejects.pending.all():  # every row good (the usual case): no row selection
        good_rows: np.ndarray | slice = slice(None)
        row = np.arange(len(batch))
    else:
        good_rows = row = np.flatnonzero(rejects.pending)
    mc = meter_codes[good_rows]
    pc = pair_codes[good_rows]
    unit_of_pair, units = pd.factorize(canon, sort=False)
    good = pd.DataFrame(
        {
            "row": row,
            "line_number": batch.line_numbers[good_rows],
            "meter_key": meter_key_u[mc].astype(np.int32),
            "reading_at_us": reading_at_us[good_rows],
            "value": values[good_rows],
            "unit": pd.Categorical.from_codes(unit_of_pair[pc], categories=units),
            "kwh_per_unit": factor[pc],
            "multiplier": multiplier_u[mc],
            "is_cumulative": cumulative_u[mc],
        },
        columns=GOOD_COLUMNS,
    )
    return good, rejects.frame(batch)


def _power_messages(
    values: np.ndarray,
    canon: np.ndarray,
    pair_codes: np.ndarray,
    meter_codes: np.ndarray,
    ceiling_u: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """Per row the implausible_value message (only ``rows`` filled: they are few)."""
    out = np.full(len(values), "", dtype=object)
    for r in np.flatnonzero(rows).tolist():
        out[r] = (
            f"{values[r]:g} {canon[pair_codes[r]]} means an average power above the ceiling "
            f"{ceiling_u[meter_codes[r]]:,.0f} kW"
        )
    return out


@functools.lru_cache(maxsize=1024)
def _checked_unit(energy_type: str, unit: str) -> str:
    return check_unit(energy_type, unit)
