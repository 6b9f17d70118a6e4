"""Callback inputs checked at the boundary: a malformed value gets 400, never 500.

Dash posts every callback to ``/_dash-update-component`` with the values of its inputs and
states as JSON; a browser (or anyone with a session) can send anything there. Before Dash
dispatches the request, :func:`check_callback_request` checks the body's shape and each
value against the rule for its component property in :data:`RULES` (``year`` a whole number
in range, ``as_of`` an ISO date, ``month`` the ISO first day of a month, ...). A value that
breaks its rule raises :class:`InvalidInputError`, which the server answers with 400 and a
short message. Properties without a rule pass unchecked; the callbacks still treat their
inputs as untrusted (scope is enforced in :mod:`dashboard.queries`).

A new input whose value the callback parses (a number, a date, a choice) gets a rule here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container
from datetime import date
from typing import Any

import dash
import flask

from dashboard import ids
from dashboard.texts import UNIT_BY_BASIS

CALLBACK_PATH_SUFFIX = "/_dash-update-component"
MIN_YEAR = 1900
MAX_YEAR = 2200
MAX_TEXT_CHARS = 500
MAX_LIST_ITEMS = 10_000


class InvalidInputError(ValueError):
    """A callback input breaks its rule; the message names the property and the rule."""


Rule = Callable[[Any], None]


def _fail(what: str) -> None:
    raise InvalidInputError(what)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def year(value: Any) -> None:
    """None, or a whole number of years (or its digits as text) in [1900, 2200]."""
    if value is None:
        return
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not _is_int(value) or not MIN_YEAR <= value <= MAX_YEAR:
        _fail(f"a year from {MIN_YEAR} to {MAX_YEAR}")


def iso_date(value: Any) -> None:
    """None, or a calendar date as ``YYYY-MM-DD``."""
    if value is None:
        return
    if not isinstance(value, str) or len(value) != 10:
        _fail("a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        _fail("a date as YYYY-MM-DD")
    else:
        year(day.year)


def month_start(value: Any) -> None:
    """None, or the first day of a month as ``YYYY-MM-01``."""
    iso_date(value)
    if value is not None and not value.endswith("-01"):
        _fail("the first day of a month as YYYY-MM-01")


def text(value: Any) -> None:
    """None, or text of at most 500 characters."""
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT_CHARS):
        _fail(f"text of at most {MAX_TEXT_CHARS} characters")


def text_list(value: Any) -> None:
    """None, or a list of texts or whole numbers (a multiple choice)."""
    if value is None:
        return
    if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS:
        _fail("a list of choices")
    for item in value:
        if _is_int(item):
            continue
        text(item)
        if item is None:
            _fail("a list of choices")


def basis(value: Any) -> None:
    """None, or one of the quota bases."""
    if value is not None and value not in UNIT_BY_BASIS:
        _fail(f"one of {', '.join(UNIT_BY_BASIS)}")


def number_at_least(low: float) -> Rule:
    def rule(value: Any) -> None:
        if value is None:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < low
        ):
            _fail(f"a number of at least {low:g}")

    return rule


def whole_number(low: int, high: int) -> Rule:
    def rule(value: Any) -> None:
        if value is None:
            return
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not _is_int(value) or not low <= value <= high:
            _fail(f"a whole number from {low} to {high}")

    return rule


def mapping(value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        _fail("an object")


def row_list(value: Any) -> None:
    if value is not None and not isinstance(value, list):
        _fail("a list of rows")


def city_selection(value: Any) -> None:
    """The city page's selection as it comes back from the browser."""
    mapping(value)
    if isinstance(value, dict):
        year(value.get("year"))
        iso_date(value.get("as_of"))
        basis(value.get("basis"))
        for key in ("districts", "types", "sizes"):
            text_list(value.get(key))
        text(value.get("lang"))


def choice(*allowed: str) -> Rule:
    def rule(value: Any) -> None:
        if value is not None and value not in allowed:
            _fail(f"one of {', '.join(allowed)}")

    return rule


clicks = whole_number(0, 2**31)

RULES: dict[tuple[str, str], Rule] = {
    (ids.LANG_STORE, "data"): text,
    (ids.LANG_TOGGLE, "n_clicks"): clicks,
    ("_pages_location", "pathname"): text,
    ("_pages_location", "search"): text,
    (ids.CITY_YEAR, "value"): year,
    (ids.CITY_AS_OF, "value"): iso_date,
    (ids.CITY_BASIS, "value"): basis,
    (ids.CITY_DISTRICT, "value"): text_list,
    (ids.CITY_TYPE, "value"): text_list,
    (ids.CITY_SIZE, "value"): text_list,
    (ids.CITY_SELECTION, "data"): city_selection,
    (ids.CITY_GRID, "getRowsRequest"): mapping,
    (ids.BUILDING_ID_STORE, "data"): text,
    (ids.BUILDING_YEAR, "value"): year,
    (ids.BUILDING_BASIS, "value"): basis,
    (ids.BUILDING_MONTH, "value"): month_start,
    (ids.RETRO_YEAR, "value"): year,
    (ids.RETRO_DISTRICT, "value"): text_list,
    (ids.RETRO_TYPE, "value"): text_list,
    (ids.RETRO_MIN_AREA, "value"): number_at_least(0),
    (ids.RETRO_TRIGGER, "value"): text_list,
    (ids.RETRO_CSV, "n_clicks"): clicks,
    (ids.RETRO_XLSX, "n_clicks"): clicks,
    (ids.RETRO_GRID, "virtualRowData"): row_list,
    (ids.DQ_REASON, "value"): text,
    (ids.DQ_STALE_DAYS, "value"): whole_number(1, 3660),
    (ids.DQ_QUARANTINE_CSV, "n_clicks"): clicks,
    (ids.DQ_QUARANTINE_XLSX, "n_clicks"): clicks,
    (ids.DQ_QUARANTINE_GRID, "virtualRowData"): row_list,
    # Notices and appeals (dashboard/appeals_view.py, dashboard/pages/appeals.py)
    (ids.NOTICE_YEAR, "value"): year,
    (ids.NOTICE_BUTTON, "n_clicks"): clicks,
    (ids.APPEAL_BASIS, "value"): basis,
    (ids.APPEAL_REASON, "value"): text,
    (ids.APPEAL_LIMIT, "value"): number_at_least(0),
    (ids.APPEAL_SUBMIT, "n_clicks"): clicks,
    (ids.DECIDE_APPEAL_ID, "value"): whole_number(1, 2**62),
    (ids.DECIDE_DECISION, "value"): choice("accept", "reject"),
    (ids.DECIDE_REASON, "value"): text,
    (ids.DECIDE_LIMIT, "value"): number_at_least(0),
    (ids.DECIDE_SUPERSEDE, "value"): text_list,
    (ids.DECIDE_SUBMIT, "n_clicks"): clicks,
}


def _check_values(items: Any, where: str) -> None:
    """Check each {id, property, value} of a body's ``inputs`` or ``state`` list (an item
    may itself be a list, for pattern-matching ids)."""
    if items is None and where == "state":
        return
    if not isinstance(items, list):
        _fail(f"{where}: a list")
    for item in items:
        for entry in item if isinstance(item, list) else [item]:
            if not isinstance(entry, dict) or not isinstance(entry.get("property"), str):
                _fail(f"{where}: objects with id and property")
            component = entry.get("id")
            if not isinstance(component, (str, dict)):
                _fail(f"{where}: objects with id and property")
            rule = RULES.get((component, entry["property"])) if isinstance(component, str) else None
            if rule is None:
                continue
            try:
                rule(entry.get("value"))
            except InvalidInputError as exc:
                raise InvalidInputError(f"{component}.{entry['property']}: {exc}") from None


def check_callback_request(body: Any, known_outputs: Container[str] | None = None) -> None:
    """Raise :class:`InvalidInputError` unless ``body`` is a well-formed callback request
    for one of the app's callbacks (``known_outputs``: the app's output keys) whose inputs
    and states keep their rules."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        _fail("a callback request (JSON object with output, outputs and inputs)")
    if known_outputs is not None and body["output"] not in known_outputs:
        _fail("output: one of this dashboard's callbacks")
    if not isinstance(body.get("outputs"), (dict, list)):
        _fail("outputs: an object or a list")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        _fail("changedPropIds: a list of texts")
    _check_values(body.get("inputs"), "inputs")
    _check_values(body.get("state"), "state")


def install(app: dash.Dash) -> None:
    """Check every callback request before Dash runs it (after the sign-in guard, so an
    anonymous request still gets 401), and answer :class:`InvalidInputError` with 400: a
    malformed request, an unknown callback or a value that breaks its rule."""
    server = app.server

    @server.before_request
    def check_callback_inputs() -> None:
        request = flask.request
        if request.method == "POST" and request.path.endswith(CALLBACK_PATH_SUFFIX):
            check_callback_request(request.get_json(silent=True), app.callback_map)

    @server.errorhandler(InvalidInputError)
    def bad_input(exc: InvalidInputError) -> flask.Response:
        return flask.Response(
            f"invalid input: {exc}", status=400, mimetype="text/plain; charset=utf-8"
        )
