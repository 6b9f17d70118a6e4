"""Energy carriers, their units, and conversion of metered values to kWh.

Every quantity is stored in kWh (all carriers); the original value and unit are kept beside
it. Natural gas is metered in m³ and converted with the energy content in the rules
(``[units] natural_gas_kwh_per_m3``), so the conversion takes that factor as an argument.
"""

from __future__ import annotations

import math

ENERGY_TYPES = ("electricity", "natural_gas", "district_heat")

# kWh per unit, for the units whose factor is physics, not a rule parameter.
_FIXED_KWH_PER_UNIT: dict[tuple[str, str], float] = {
    ("electricity", "Wh"): 0.001,
    ("electricity", "kWh"): 1.0,
    ("electricity", "MWh"): 1000.0,
    ("district_heat", "GJ"): 1e9 / 3.6e6,  # 277.78 kWh per GJ
    ("district_heat", "MJ"): 1e6 / 3.6e6,  # 0.27778 kWh per MJ
    ("district_heat", "kWh"): 1.0,
}
UNITS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "electricity": ("Wh", "kWh", "MWh"),
    "natural_gas": ("m3",),
    "district_heat": ("GJ", "MJ", "kWh"),
}
_UNIT_ALIASES = {
    "wh": "Wh",
    "kwh": "kWh",
    "mwh": "MWh",
    "m3": "m3",
    "m³": "m3",
    "nm3": "m3",
    "gj": "GJ",
    "mj": "MJ",
    "度": "kWh",
    "千瓦时": "kWh",
    "立方米": "m3",
}


class UnitError(ValueError):
    """A unit is unknown or not valid for the energy type."""


def canonical_unit(unit: str) -> str:
    """The canonical spelling of ``unit`` (``kwh`` → ``kWh``, ``m³`` → ``m3``)."""
    key = unit.strip().lower()
    if key not in _UNIT_ALIASES:
        raise UnitError(f"unknown unit {unit!r}")
    return _UNIT_ALIASES[key]


def check_unit(energy_type: str, unit: str) -> str:
    """The canonical unit, checked valid for ``energy_type``."""
    if energy_type not in UNITS_BY_TYPE:
        raise UnitError(f"unknown energy type {energy_type!r} (one of {', '.join(ENERGY_TYPES)})")
    canonical = canonical_unit(unit)
    if canonical not in UNITS_BY_TYPE[energy_type]:
        raise UnitError(
            f"unit {unit!r} is not valid for {energy_type} "
            f"(one of {', '.join(UNITS_BY_TYPE[energy_type])})"
        )
    return canonical


def kwh_per_unit(energy_type: str, unit: str, natural_gas_kwh_per_m3: float) -> float:
    """Factor turning a value in ``unit`` into kWh [kWh/unit]."""
    canonical = check_unit(energy_type, unit)
    if energy_type == "natural_gas":
        if not (natural_gas_kwh_per_m3 > 0 and math.isfinite(natural_gas_kwh_per_m3)):
            raise UnitError("natural_gas_kwh_per_m3 must be a positive number")
        return natural_gas_kwh_per_m3
    return _FIXED_KWH_PER_UNIT[(energy_type, canonical)]
