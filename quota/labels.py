"""Words for codes that users read: evaluation statuses, bases and yes/no, in Simplified
Chinese and English. The dashboard's texts and the file exports both take them from here."""

from __future__ import annotations

from typing import Final

# status: (zh, en)
STATUS_NAMES: Final[dict[str, tuple[str, str]]] = {
    "no_quota": ("无限额", "No quota"),
    "out_of_scope": ("不在管理范围", "Out of scope"),
    "insufficient_data": ("数据不足", "Insufficient data"),
    "within": ("限额内", "Within quota"),
    "at_risk": ("有超限风险", "At risk"),
    "over": ("超限额", "Over quota"),
    "over_20": ("超限额 20% 以上", "Over quota by > 20 %"),
    "over_20_repeat": ("连续两年超 20%", "> 20 % over, two years running"),
}
BASIS_NAMES: Final[dict[str, tuple[str, str]]] = {
    "electricity_kwh": ("电耗（kWh）", "Electricity (kWh)"),
    "energy_kgce": ("综合能耗（kgce）", "Total energy (kgce)"),
}
YES_NO: Final[dict[bool, tuple[str, str]]] = {True: ("是", "yes"), False: ("否", "no")}
LANGUAGES: Final = ("zh", "en")


def word(names: dict[object, tuple[str, str]], code: object, lang: str) -> str:
    """The word for ``code`` in ``lang`` (``zh`` or ``en``); the code itself if unknown."""
    pair = names.get(code)
    if pair is None:
        return "" if code is None else str(code)
    return pair[1] if lang == "en" else pair[0]
