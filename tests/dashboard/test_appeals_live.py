"""Notices and appeals through the real server (`quotawatch serve`) with a real HTTP client:
a manager downloads their building's notice and appeals for it (not for another building),
a regulator sees the open appeals and rejects or accepts them (an accepted appeal is a
quota adjustment whose reason is the appeal), the manager sees the decision on the building
page, and every step is in the audit log."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import requests
from pypdf import PdfReader
from qw_dashboard_support import callback_payload, http_sign_in

from dashboard import ids

CALLBACK = "/_dash-update-component"


def _post(session: requests.Session, url: str, payload: dict[str, Any]) -> requests.Response:
    return session.post(f"{url}{CALLBACK}", json=payload, timeout=60)


def _appeal(building_id: str, reason: str | None, limit: float | None = None) -> dict[str, Any]:
    return callback_payload(
        [(ids.APPEAL_MESSAGE, "children"), (ids.APPEAL_LIST, "children")],
        [(ids.APPEAL_SUBMIT, "n_clicks", 1)],
        [
            (ids.BUILDING_ID_STORE, "data", building_id),
            (ids.NOTICE_YEAR, "value", 2024),
            (ids.APPEAL_BASIS, "value", "electricity_kwh"),
            (ids.APPEAL_REASON, "value", reason),
            (ids.APPEAL_LIMIT, "value", limit),
            (ids.LANG_STORE, "data", "en"),
        ],
    )


def _decide(
    appeal_id: int,
    decision: str,
    reason: str | None,
    limit: float | None = None,
    supersede: bool = False,
):
    return callback_payload(
        [(ids.DECIDE_MESSAGE, "children"), (ids.APPEALS_OPEN, "children")],
        [(ids.DECIDE_SUBMIT, "n_clicks", 1)],
        [
            (ids.DECIDE_APPEAL_ID, "value", appeal_id),
            (ids.DECIDE_DECISION, "value", decision),
            (ids.DECIDE_REASON, "value", reason),
            (ids.DECIDE_LIMIT, "value", limit),
            (ids.DECIDE_SUPERSEDE, "value", ["yes"] if supersede else []),
            (ids.LANG_STORE, "data", "en"),
        ],
    )


def _notice(building_id: str, lang: str = "en") -> dict[str, Any]:
    return callback_payload(
        [(ids.NOTICE_DOWNLOAD, "data"), (ids.NOTICE_MESSAGE, "children")],
        [(ids.NOTICE_BUTTON, "n_clicks", 1)],
        [
            (ids.BUILDING_ID_STORE, "data", building_id),
            (ids.NOTICE_YEAR, "value", 2024),
            (ids.LANG_STORE, "data", lang),
        ],
    )


def _building_page(building_id: str) -> dict[str, Any]:
    return callback_payload(
        [("_pages_content", "children"), ("_pages_store", "data")],
        [
            ("_pages_location", "pathname", f"/building/{building_id}"),
            ("_pages_location", "search", ""),
            (ids.LANG_STORE, "data", "en"),
        ],
    )


def _appeal_rows(city: Any) -> list[dict[str, Any]]:
    return city.query(
        "SELECT appeal_id, building_id, status, submitted_by, decided_by, decision_reason,"
        " quota_version_id, requested_limit_value FROM appeal ORDER BY appeal_id"
    )


def test_manager_appeals_regulator_decides_manager_sees_it(city: Any, live_server: Any) -> None:
    city.cli("determine", "--year", "2024", check=True)
    url = live_server.url
    manager = http_sign_in(url, "mgr")
    regulator = http_sign_in(url, "reg")

    # The manager downloads their building's notice (a PDF naming the building).
    notice = _post(manager, url, _notice("B1"))
    assert notice.status_code == 200
    download = notice.json()["response"][ids.NOTICE_DOWNLOAD]["data"]
    assert download["filename"] == "NOTICE-B1-2024.pdf"
    reader = PdfReader(io.BytesIO(base64.b64decode(download["content"])))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "B1" in text and "Determination" in text and "Quota year: 2024" in text
    # ... but not another building's.
    assert _post(manager, url, _notice("B3")).status_code == 403

    # Appeals for another building are refused and store nothing.
    assert _post(manager, url, _appeal("B3", "not mine")).status_code == 403
    assert _post(manager, url, _appeal("B2", "not mine either")).status_code == 403
    assert _appeal_rows(city) == []
    # A reason is required.
    empty = _post(manager, url, _appeal("B1", "   "))
    assert "Fill in the year and the reason" in empty.text
    assert _appeal_rows(city) == []

    first = _post(manager, url, _appeal("B1", "the new wing opened in March", 1_500_000))
    assert first.status_code == 200 and "submitted" in first.text
    [row] = _appeal_rows(city)
    assert (row["building_id"], row["status"], row["submitted_by"]) == ("B1", "open", "mgr")
    again = _post(manager, url, _appeal("B1", "once more"))
    assert "already open" in again.text

    # Only a regulator decides: the manager's crafted decision is refused.
    refused = _post(manager, url, _decide(row["appeal_id"], "accept", "I agree with myself"))
    assert "may not decide an appeal" in refused.text
    assert _appeal_rows(city)[0]["status"] == "open"

    # The regulator sees the open appeal on /appeals; the page is refused to the manager.
    assert regulator.get(f"{url}/appeals", timeout=30).status_code == 200
    no_reason = _post(regulator, url, _decide(row["appeal_id"], "reject", ""))
    assert "needs a reason" in no_reason.text
    rejected = _post(regulator, url, _decide(row["appeal_id"], "reject", "the wing is not in use"))
    assert f"Appeal {row['appeal_id']}: rejected" in rejected.text
    assert "No appeals." in rejected.text  # no open appeal left
    twice = _post(regulator, url, _decide(row["appeal_id"], "accept", "changed my mind"))
    assert "already rejected" in twice.text

    # A second appeal, accepted: a quota adjustment whose reason is the appeal.
    second = _post(manager, url, _appeal("B1", "meters were swapped in May", 1_400_000))
    assert "submitted" in second.text
    open_rows = [r for r in _appeal_rows(city) if r["status"] == "open"]
    assert len(open_rows) == 1
    first_determination = city.scalar("SELECT max(determination_id) FROM determination")
    accepted = _post(
        regulator, url, _decide(open_rows[0]["appeal_id"], "accept", "verified", supersede=True)
    )
    assert "accepted" in accepted.text and "new determination" in accepted.text
    decided = _appeal_rows(city)[-1]
    assert decided["status"] == "accepted" and decided["decided_by"] == "reg"
    # The year was determined again with the new quota, superseding the first determination.
    in_force = city.query(
        "SELECT determination_id, reason FROM determination"
        " WHERE year = 2024 AND superseded_by IS NULL"
    )[0]
    assert in_force["determination_id"] != first_determination
    assert in_force["reason"] == f"appeal {decided['appeal_id']} accepted: verified"
    assert (
        city.scalar(
            "SELECT limit_value FROM determination_result WHERE determination_id = %s"
            " AND building_id = 'B1' AND basis = 'electricity_kwh'",
            (in_force["determination_id"],),
        )
        == 1_400_000
    )
    renewed = _post(manager, url, _notice("B1"))
    content = renewed.json()["response"][ids.NOTICE_DOWNLOAD]["data"]["content"]
    reader = PdfReader(io.BytesIO(base64.b64decode(content)))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert f"Determination {in_force['determination_id']}" in text
    assert "Quota in force: 1,400,000 kWh" in text and "meters were swapped in May" in text
    version = city.query(
        "SELECT limit_value, source, reason, actor FROM quota_version WHERE version_id = %s",
        (decided["quota_version_id"],),
    )[0]
    assert version["source"] == "adjusted" and version["limit_value"] == 1_400_000
    assert version["actor"] == "reg"
    assert version["reason"].startswith(f"appeal {decided['appeal_id']}: meters were swapped")

    # The manager sees both decisions on the building page.
    page = _post(manager, url, _building_page("B1"))
    assert page.status_code == 200
    assert "the wing is not in use" in page.text and "verified" in page.text
    assert "rejected" in page.text and "accepted" in page.text

    # Every step is in the audit log.
    entries = city.query(
        "SELECT action, actor, building_id, reason FROM audit_entry"
        " WHERE action LIKE 'appeal.%%' OR action = 'quota.adjusted' ORDER BY entry_id"
    )
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("appeal.submitted", "mgr"),
        ("appeal.rejected", "reg"),
        ("appeal.submitted", "mgr"),
        ("quota.adjusted", "reg"),
        ("appeal.accepted", "reg"),
    ]
    assert all(e["building_id"] == "B1" for e in entries)
    assert (
        city.scalar("SELECT count(*) FROM audit_entry WHERE action = 'determination.superseded'")
        == 1
    )
    assert json.dumps(entries, ensure_ascii=False).count("the wing is not in use") == 1


def test_other_roles_cannot_see_or_decide_appeals(city: Any, live_server: Any) -> None:
    url = live_server.url
    analyst = http_sign_in(url, "ana")
    refused = _post(analyst, url, _decide(1, "reject", "no"))
    assert refused.status_code == 403 or "may not decide" in refused.text
    assert _post(analyst, url, _appeal("B1", "analysts do not appeal")).status_code == 200
    assert _appeal_rows(city) == []
