"""The demo gateway: drops the demo city's newest readings into the inbox, like a meter
gateway would, so that the scheduler ingests them and the dashboard's figures move.

The history written by ``quotawatch demo generate`` stops a few days before the day it was
generated. Each call of :func:`send_next` sends the next window after what was already sent
(at most one day, so a gateway that was down catches up a day per call) up to the last full
hour, as one CSV file written next to the inbox and moved in atomically. What was sent is
kept in ``gateway.json`` beside the city's ``city.json``.

The utility's side: :func:`send_bills` drops a month's bills on the 5th of the next month
(``bills-YYYY-MM.csv``: the month's bills, some estimated, and the actual bills replacing
the previous month's estimates), each month once, in order; what was delivered is kept in
``gateway_bills.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from quota.demo.billing import due_months, history_months
from quota.demo.generator import build_city, city_bills, readings_text, spec_from_manifest

STATE_FILE = "gateway.json"
BILLS_STATE_FILE = "gateway_bills.json"
MAX_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Sent:
    """One file the gateway dropped: its path, the window ``[start, end)`` and rows."""

    path: Path
    start: datetime
    end: datetime
    rows: int


def next_window(
    sent_until: datetime, now: datetime, max_window: timedelta = MAX_WINDOW
) -> tuple[datetime, datetime] | None:
    """The next window to send after ``sent_until``: up to the last full hour before
    ``now`` and at most ``max_window`` long; ``None`` when there is nothing new."""
    last_full_hour = now.replace(minute=0, second=0, microsecond=0)
    end = min(sent_until + max_window, last_full_hour)
    if end <= sent_until:
        return None
    return sent_until, end


def _sent_until(demo_dir: Path) -> datetime:
    spec = spec_from_manifest(demo_dir / "city.json")
    state = demo_dir / STATE_FILE
    if state.is_file():
        return datetime.fromisoformat(json.loads(state.read_text("utf-8"))["sent_until"])
    return datetime.combine(spec.end_date, time(0), tzinfo=spec.tz)


def send_next(demo_dir: Path, inbox_dir: Path, now: datetime) -> Sent | None:
    """Write the next window's readings into ``inbox_dir``; ``None`` when up to date."""
    spec = spec_from_manifest(demo_dir / "city.json")
    window = next_window(_sent_until(demo_dir), now.astimezone(spec.tz))
    if window is None:
        return None
    start, end = window
    text, rows = readings_text(build_city(spec), start, end)
    name = f"gateway-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.csv"
    outgoing = demo_dir / "outgoing"
    outgoing.mkdir(parents=True, exist_ok=True)
    inbox_dir.mkdir(parents=True, exist_ok=True)
    draft = outgoing / name
    draft.write_text(text, "utf-8")
    draft.replace(inbox_dir / name)  # atomic: the scheduler never sees a half-written file
    (demo_dir / STATE_FILE).write_text(
        json.dumps({"sent_until": end.isoformat(), "last_file": name}) + "\n", "utf-8"
    )
    return Sent(inbox_dir / name, start, end, rows)


def _delivered_until(demo_dir: Path) -> tuple[int, int] | None:
    state = demo_dir / BILLS_STATE_FILE
    if state.is_file():
        year, month = json.loads(state.read_text("utf-8"))["delivered_until"].split("-")
        return int(year), int(month)
    months = history_months(spec_from_manifest(demo_dir / "city.json"))
    return months[-1] if months else None


def send_bills(demo_dir: Path, inbox_dir: Path, now: datetime) -> list[Sent]:
    """Drop the bills of every month due by ``now`` (the 5th of the next month) and not yet
    delivered into ``inbox_dir``, oldest first; empty when none is due."""
    spec = spec_from_manifest(demo_dir / "city.json")
    today = now.astimezone(spec.tz).date()
    months = due_months(spec, _delivered_until(demo_dir), today)
    if not months:
        return []
    bills = city_bills(build_city(spec))
    outgoing = demo_dir / "outgoing"
    outgoing.mkdir(parents=True, exist_ok=True)
    inbox_dir.mkdir(parents=True, exist_ok=True)
    sent: list[Sent] = []
    for year, month in months:
        text, rows = bills.delivery_text((year, month))
        name = f"bills-{year:04d}-{month:02d}.csv"
        draft = outgoing / name
        draft.write_text(text, "utf-8")
        draft.replace(inbox_dir / name)
        (demo_dir / BILLS_STATE_FILE).write_text(
            json.dumps({"delivered_until": f"{year:04d}-{month:02d}", "last_file": name}) + "\n",
            "utf-8",
        )
        start = datetime.combine(date(year, month, 1), time(0), tzinfo=spec.tz)
        sent.append(Sent(inbox_dir / name, start, now, rows))
    return sent
