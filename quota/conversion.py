"""Energy in kWh (as stored, every carrier) → standard coal equivalent and CO₂.

Factors come from the rules (:class:`quota.rules.Factors`), never from literals:
electricity kWh × kgce/kWh; natural gas kWh ÷ (kWh/m³) → m³ × kgce/m³; district heat
kWh × 0.0036 GJ/kWh × kgce/GJ. CO₂ uses the same volumes with the emission factors.
Sources: GB/T 2589-2020 (calorific equivalent, 当量值), MEE 2022 grid factors; see
``quota/rules_default.toml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quota.rules import Factors

GJ_PER_KWH = 0.0036  # physics: 1 kWh = 3.6 MJ


def native_quantity(energy_kwh: pd.Series, energy_type: pd.Series, factors: Factors) -> pd.Series:
    """Energy in each carrier's accounting unit: electricity kWh, gas m³, heat GJ."""
    kwh = energy_kwh.astype("float64")
    return pd.Series(
        np.select(
            [
                energy_type == "electricity",
                energy_type == "natural_gas",
                energy_type == "district_heat",
            ],
            [kwh, kwh / factors.natural_gas_kwh_per_m3, kwh * GJ_PER_KWH],
            default=np.nan,
        ),
        index=energy_kwh.index,
    )


def kgce_from_kwh(energy_kwh: pd.Series, energy_type: pd.Series, factors: Factors) -> pd.Series:
    """Standard coal equivalent of stored energy [kgce], element-wise by carrier."""
    per_native = np.select(
        [
            energy_type == "electricity",
            energy_type == "natural_gas",
            energy_type == "district_heat",
        ],
        [
            factors.electricity_kgce_per_kwh,
            factors.natural_gas_kgce_per_m3,
            factors.district_heat_kgce_per_gj,
        ],
        default=np.nan,
    )
    return native_quantity(energy_kwh, energy_type, factors) * per_native


def co2_kg_from_kwh(energy_kwh: pd.Series, energy_type: pd.Series, factors: Factors) -> pd.Series:
    """CO₂ emitted for stored energy [kg CO₂], element-wise by carrier."""
    per_native = np.select(
        [
            energy_type == "electricity",
            energy_type == "natural_gas",
            energy_type == "district_heat",
        ],
        [
            factors.electricity_kgco2_per_kwh,
            factors.natural_gas_kgco2_per_m3,
            factors.district_heat_kgco2_per_gj,
        ],
        default=np.nan,
    )
    return native_quantity(energy_kwh, energy_type, factors) * per_native


def in_basis(
    energy_kwh: pd.Series, energy_type: pd.Series, basis: str, factors: Factors
) -> pd.Series:
    """Stored energy in a quota basis's quantity, element-wise: ``electricity_kwh`` keeps
    electricity [kWh] (other carriers count 0), ``energy_kgce`` converts every carrier
    [kgce] with :func:`kgce_from_kwh`."""
    kwh = energy_kwh.astype("float64")
    if basis == "electricity_kwh":
        return kwh.where(energy_type == "electricity", 0.0)
    if basis == "energy_kgce":
        return kgce_from_kwh(kwh, energy_type, factors).fillna(0.0)
    raise ValueError(f"unknown quota basis {basis!r}")


def daily_in_basis(rows: pd.DataFrame, basis: str, factors: Factors) -> pd.Series:
    """Use per local day in the basis's unit from rows (day, energy_type, energy_kwh):
    electricity [kWh] for ``electricity_kwh``, all carriers [kgce] for ``energy_kgce``.
    Index: the days that have a row of the basis's carriers, sorted."""
    if rows.empty:
        return pd.Series(dtype="float64", name="energy")
    if basis == "electricity_kwh":
        rows = rows[rows["energy_type"] == "electricity"]
    values = in_basis(rows["energy_kwh"], rows["energy_type"], basis, factors)
    series = values.groupby(rows["day"]).sum().sort_index()
    series.name = "energy"
    return series
