"""Typed access to the rule parameters in ``settings.rules`` (``quota/rules_default.toml``
merged with ``[rules]`` of quotawatch.toml).

Every number the quota engine acts on comes from here, never from a literal in code. Each
parameter group carries a ``source`` and a ``verified`` flag; :func:`unverified_labels` lists
the groups an output relied on that are not confirmed, so outputs can say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class RulesError(ValueError):
    """A rule parameter is missing or has an unusable value; the message names it."""


def group(rules: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """The parameter group at dotted ``path`` (e.g. ``"standards.gb51161"``)."""
    node: Any = rules
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise RulesError(f"rule group [{path}] is missing from the rules configuration")
        node = node[part]
    if not isinstance(node, Mapping):
        raise RulesError(f"rules: [{path}] is not a table")
    return node


def number(rules: Mapping[str, Any], path: str, key: str, *, minimum: float = 0.0) -> float:
    """A numeric parameter ``[path] key``, checked finite and >= ``minimum``."""
    value = group(rules, path).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(f"rules: [{path}] {key} must be a number, got {value!r}")
    value = float(value)
    if not (value >= minimum and value < float("inf")):
        raise RulesError(f"rules: [{path}] {key} = {value} must be >= {minimum}")
    return value


def unverified_labels(rules: Mapping[str, Any], paths: Iterable[str]) -> list[str]:
    """Labels ``"[path] source"`` of the groups among ``paths`` whose ``verified`` is false.

    A group without its own ``verified`` flag inherits the nearest parent's.
    """
    labels = []
    for path in dict.fromkeys(paths):
        parts = path.split(".")
        verified: Any = None
        source = ""
        for depth in range(len(parts), 0, -1):
            try:
                node = group(rules, ".".join(parts[:depth]))
            except RulesError:
                continue
            if verified is None and "verified" in node:
                verified = node["verified"]
                source = str(node.get("source", ""))
        if verified is not True:
            labels.append(f"[{path}] unverified: {source}" if source else f"[{path}] unverified")
    return labels


@dataclass(frozen=True)
class Factors:
    """Conversion and emission factors (calorific equivalent, 当量值).

    electricity_kgce_per_kwh [kgce/kWh], natural_gas_kgce_per_m3 [kgce/m³],
    district_heat_kgce_per_gj [kgce/GJ], natural_gas_kwh_per_m3 [kWh/m³] (energy content used
    when gas readings were stored as kWh), *_kgco2_per_* the matching CO₂ factors.
    """

    electricity_kgce_per_kwh: float
    natural_gas_kgce_per_m3: float
    district_heat_kgce_per_gj: float
    natural_gas_kwh_per_m3: float
    electricity_kgco2_per_kwh: float
    natural_gas_kgco2_per_m3: float
    district_heat_kgco2_per_gj: float

    RULE_GROUPS = ("conversion", "emissions", "units")

    @classmethod
    def from_rules(cls, rules: Mapping[str, Any]) -> Factors:
        return cls(
            electricity_kgce_per_kwh=number(rules, "conversion", "electricity_kgce_per_kwh"),
            natural_gas_kgce_per_m3=number(rules, "conversion", "natural_gas_kgce_per_m3"),
            district_heat_kgce_per_gj=number(rules, "conversion", "district_heat_kgce_per_gj"),
            natural_gas_kwh_per_m3=number(rules, "units", "natural_gas_kwh_per_m3", minimum=1e-9),
            electricity_kgco2_per_kwh=number(rules, "emissions", "electricity_kgco2_per_kwh"),
            natural_gas_kgco2_per_m3=number(rules, "emissions", "natural_gas_kgco2_per_m3"),
            district_heat_kgco2_per_gj=number(rules, "emissions", "district_heat_kgco2_per_gj"),
        )


@dataclass(frozen=True)
class EvaluationRules:
    """The parameters of one evaluation: scope, tiers, data sufficiency, factors."""

    min_floor_area_m2: float
    min_public_use_share: float
    over_ratio: float
    over_20_ratio: float
    min_completeness: float
    min_profile_year_completeness: float
    min_peer_count: int
    min_expected_share: float
    factors: Factors

    RULE_GROUPS = ("scope", "tiers", "data", *Factors.RULE_GROUPS)

    @classmethod
    def from_rules(cls, rules: Mapping[str, Any]) -> EvaluationRules:
        over_ratio = number(rules, "tiers", "over_ratio", minimum=1e-9)
        over_20_ratio = number(rules, "tiers", "over_20_ratio", minimum=1e-9)
        if over_20_ratio < over_ratio:
            raise RulesError("rules: [tiers] over_20_ratio must be >= over_ratio")
        data = group(rules, "data")
        return cls(
            min_floor_area_m2=number(rules, "scope", "min_floor_area_m2"),
            min_public_use_share=number(rules, "scope", "min_public_use_share"),
            over_ratio=over_ratio,
            over_20_ratio=over_20_ratio,
            min_completeness=number(rules, "data", "min_completeness"),
            min_profile_year_completeness=number(rules, "data", "min_profile_year_completeness"),
            min_peer_count=int(number(rules, "data", "min_peer_count", minimum=1)),
            min_expected_share=float(data.get("min_expected_share", 0.01)),
            factors=Factors.from_rules(rules),
        )

    def unverified(self, rules: Mapping[str, Any]) -> list[str]:
        """Labels of the unverified groups an evaluation relies on."""
        return unverified_labels(rules, self.RULE_GROUPS)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain data (stored with each evaluation run)."""
        data = {k: v for k, v in self.__dict__.items() if k != "factors"}
        data["factors"] = dict(self.factors.__dict__)
        return data
