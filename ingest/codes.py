"""Stable reason codes for quarantined rows and flags for suspicious-but-possible data.

Each code has a human description; quarantine rows store the code in ``reason_code`` and the
dotted form (``reading.negative_value``) with the data reproducing the decision in
``details``. Codes are part of the interface (the dashboard groups by them): never rename one.
"""

from __future__ import annotations

from typing import Final

MALFORMED_ROW: Final = "malformed_row"
UNKNOWN_METER: Final = "unknown_meter"
BAD_TIMESTAMP: Final = "bad_timestamp"
FUTURE_TIMESTAMP: Final = "future_timestamp"
BAD_VALUE: Final = "bad_value"
NEGATIVE_VALUE: Final = "negative_value"
BAD_UNIT: Final = "bad_unit"
CONFLICTING_DUPLICATE: Final = "conflicting_duplicate"
REGISTER_DECREASE: Final = "register_decrease"
ABOVE_REGISTER_MAX: Final = "above_register_max"
IMPLAUSIBLE_TIMESTAMP: Final = "implausible_timestamp"
IMPLAUSIBLE_VALUE: Final = "implausible_value"

# Checked in this order: a row gets the first code that applies.
REASONS: Final[dict[str, str]] = {
    MALFORMED_ROW: "the row does not have the header's fields (missing or extra fields), or "
    "holds a NUL byte or a field too long to be real",
    UNKNOWN_METER: "the meter_id is not in the meter registry",
    BAD_TIMESTAMP: "the timestamp is not a supported format, or is a local time that does not "
    "exist or is ambiguous in the quota time zone",
    IMPLAUSIBLE_TIMESTAMP: "the timestamp lies before the earliest plausible date "
    "(earliest_reading_date)",
    BAD_VALUE: "the value is not a finite number",
    NEGATIVE_VALUE: "the value is negative",
    BAD_UNIT: "the unit is unknown or not valid for the meter's energy type",
    IMPLAUSIBLE_VALUE: "the average power over the reading's interval is above the meter's "
    "ceiling (max_power_kw)",
    FUTURE_TIMESTAMP: "the timestamp lies in the future",
    ABOVE_REGISTER_MAX: "a cumulative register reading is above the largest value the register "
    "shows (register_max)",
    CONFLICTING_DUPLICATE: "the same meter and time is already stored (or earlier in the file) "
    "with a different value",
    REGISTER_DECREASE: "a cumulative register decreased and the register maximum does not "
    "explain it as a rollover (the next reading starts a new baseline)",
}

# Bits of ``reading.flags``: kept and flagged, never rejected.
FLAG_ZERO_RUN: Final = 1
FLAG_SPIKE: Final = 2
FLAG_CODES: Final[dict[int, str]] = {FLAG_ZERO_RUN: "zero_run", FLAG_SPIKE: "spike"}


def dotted(code: str) -> str:
    """The dotted form of a reason code (``reading.negative_value``)."""
    return f"reading.{code}"


# -- bills (ingest/bills_validate.py) ---------------------------------------------------------
# A bill row gets the first code that applies, in this order (malformed_row, bad_value,
# negative_value and bad_unit mean for a bill what they mean for a reading).
UNKNOWN_ACCOUNT: Final = "unknown_account"
BAD_PERIOD: Final = "bad_period"
OVERLAPPING_BILL: Final = "overlapping_bill"
BILL_REASONS: Final[dict[str, str]] = {
    MALFORMED_ROW: "the row does not have the header's fields (missing or extra fields)",
    UNKNOWN_ACCOUNT: "the account_id is not in the account registry",
    BAD_PERIOD: "a period date is not a date (YYYY-MM-DD), the end is before the start, or "
    "the period is longer than max_bill_days",
    BAD_VALUE: "the value is not a finite number, or the estimated flag is not 1/0, "
    "true/false or E/A",
    NEGATIVE_VALUE: "the value is negative",
    BAD_UNIT: "the unit is unknown or not valid for the account's energy type",
    OVERLAPPING_BILL: "an actual bill of the same account already covers part of the period "
    "(the stored bill stays; a corrections file replaces it)",
}


def dotted_bill(code: str) -> str:
    """The dotted form of a bill's reason code (``bill.bad_period``)."""
    return f"bill.{code}"
