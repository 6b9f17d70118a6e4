"""Sessions against the real server (`quotawatch serve`, waitress) with a real HTTP client:
signing out, a new password and removing a user end every session of that user; the forms
carry CSRF tokens; `next` stays on the site; concurrent wrong passwords are counted one
after another; the cookie is Secure when configured."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from qw_dashboard_support import PASSWORD, csrf_from, http_sign_in

NEW_PASSWORD = "another long password"


def layout_status(session: requests.Session, url: str) -> int:
    return session.get(f"{url}/_dash-layout", timeout=30).status_code


def logout_token(session: requests.Session, url: str) -> str:
    """The CSRF token the dashboard's own logout button posts (from the shell's layout)."""
    layout = session.get(f"{url}/_dash-layout", timeout=30).text
    match = re.search(r'"name":\s*"csrf_token".*?"value":\s*"([^"]+)"', layout) or re.search(
        r'"value":\s*"([^"]+)"[^{}]*"name":\s*"csrf_token"', layout
    )
    assert match, layout[:2000]
    return match.group(1)


def test_logout_ends_every_session_of_the_user(live_server: Any, city: Any) -> None:
    url = live_server.url
    laptop = http_sign_in(url, "reg")
    phone = http_sign_in(url, "reg")
    other = http_sign_in(url, "ana")
    stolen = requests.Session()
    stolen.cookies.update(laptop.cookies)
    for session in (laptop, phone, other, stolen):
        assert layout_status(session, url) == 200
    # Logout is a POST: a GET only shows the confirmation form and ends nothing.
    assert laptop.get(f"{url}/logout", timeout=30).status_code == 200
    assert layout_status(laptop, url) == 200
    # A POST without the token (what another site could send) ends nothing either.
    assert laptop.post(f"{url}/logout", timeout=30, allow_redirects=False).status_code == 400
    assert layout_status(laptop, url) == 200
    response = laptop.post(
        f"{url}/logout",
        data={"csrf_token": logout_token(laptop, url)},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    for session in (laptop, phone, stolen):
        assert layout_status(session, url) == 401
        page = session.get(f"{url}/", allow_redirects=False, timeout=30)
        assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert layout_status(other, url) == 200
    assert city.scalar("SELECT count(*) FROM web_session WHERE username = 'reg'") == 0


def test_new_password_ends_every_session(live_server: Any, city: Any) -> None:
    url = live_server.url
    first, second = http_sign_in(url, "mgr"), http_sign_in(url, "mgr")
    assert layout_status(first, url) == 200
    proc = city.cli(
        "users",
        "add",
        "mgr",
        "--role",
        "manager",
        "--building",
        "B1",
        "--replace",
        "--password-stdin",
        input_text=NEW_PASSWORD + "\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert layout_status(first, url) == 401 and layout_status(second, url) == 401
    form = requests.Session()
    token = csrf_from(form.get(f"{url}/login", timeout=30).text)
    old = form.post(
        f"{url}/login",
        data={"username": "mgr", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert old.status_code == 401
    assert layout_status(http_sign_in(url, "mgr", NEW_PASSWORD), url) == 200


def test_removed_user_loses_every_session(live_server: Any, city: Any) -> None:
    url = live_server.url
    session = http_sign_in(url, "ana")
    assert layout_status(session, url) == 200
    proc = city.cli("users", "remove", "ana")
    assert proc.returncode == 0, proc.stderr
    assert layout_status(session, url) == 401
    assert city.scalar("SELECT count(*) FROM web_session") == 0


@pytest.mark.parametrize(
    "raw_next",
    ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "https://evil.example", "/%0A/x"],
)
def test_next_stays_on_the_site(shared_server: Any, raw_next: str) -> None:
    url = shared_server.url
    session = requests.Session()
    form = session.get(f"{url}/login?next={raw_next}", timeout=30).text
    hidden = re.search(r'name="next" value="([^"]*)"', form)
    assert hidden and hidden.group(1) == "/"
    response = session.post(
        f"{url}/login",
        data={
            "username": "reg",
            "password": PASSWORD,
            "csrf_token": csrf_from(form),
            "next": requests.utils.unquote(raw_next),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_next_keeps_a_path_on_the_site(shared_server: Any) -> None:
    session = requests.Session()
    url = shared_server.url
    form = session.get(f"{url}/login?next=/building/B1", timeout=30).text
    response = session.post(
        f"{url}/login",
        data={
            "username": "reg",
            "password": PASSWORD,
            "csrf_token": csrf_from(form),
            "next": "/building/B1",
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.headers["Location"] == "/building/B1"


def test_concurrent_wrong_passwords_stop_at_the_lock(live_server: Any, city: Any) -> None:
    url = live_server.url

    def wrong(i: int) -> tuple[int, str]:
        session = requests.Session()
        token = csrf_from(session.get(f"{url}/login", timeout=30).text)
        response = session.post(
            f"{url}/login",
            data={"username": "ana", "password": f"wrong password {i}", "csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        return response.status_code, response.text.replace(token, "TOKEN")

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(wrong, range(16)))
    assert {status for status, _ in answers} == {401}
    assert len({text for _, text in answers}) == 1  # locked or not: the same answer
    row = city.query("SELECT failed_logins, locked_until FROM app_user WHERE username = 'ana'")[0]
    # Five failures (the default policy's max_failures) lock the account; the other eleven
    # attempts found it locked and were not checked against the password.
    assert row["failed_logins"] == 5 and row["locked_until"] is not None
    session = requests.Session()
    token = csrf_from(session.get(f"{url}/login", timeout=30).text)
    right = session.post(
        f"{url}/login",
        data={"username": "ana", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert right.status_code == 401
    assert right.text.replace(token, "TOKEN") == answers[0][1]


def test_session_cookie_is_secure_when_configured(start_server: Any) -> None:
    plain = start_server()
    secure = start_server(QUOTAWATCH_COOKIE_SECURE="1")
    for server, expected in ((plain, False), (secure, True)):
        session = requests.Session()
        form = session.get(f"{server.url}/login", timeout=30)
        cookie = form.headers["Set-Cookie"]
        assert "quotawatch_session=" in cookie and "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is expected
        response = session.post(
            f"{server.url}/login",
            data={"username": "reg", "password": PASSWORD, "csrf_token": csrf_from(form.text)},
            allow_redirects=False,
            timeout=30,
        )
        if expected:
            # requests does not send a Secure cookie over plain HTTP: the form token
            # cannot be checked, which is what a Secure cookie means.
            assert response.status_code == 400
        else:
            assert response.status_code == 302
            assert ("Secure" in response.headers["Set-Cookie"]) is expected


def test_shell_logout_form_posts_the_token(shared_server: Any) -> None:
    session = http_sign_in(shared_server.url, "reg")
    layout = json.loads(session.get(f"{shared_server.url}/_dash-layout", timeout=30).text)
    text = json.dumps(layout)
    assert '"action": "/logout"' in text and '"method": "post"' in text
    assert logout_token(session, shared_server.url)


def test_cookie_secure_setting_from_file_and_environment(tmp_path: Any) -> None:
    from quota.settings import SettingsError, load_settings

    home = {"QUOTAWATCH_HOME": str(tmp_path)}
    assert load_settings(home).cookie_secure is False
    (tmp_path / "quotawatch.toml").write_text("[quotawatch]\ncookie_secure = true\n")
    assert load_settings(home).cookie_secure is True
    assert load_settings({**home, "QUOTAWATCH_COOKIE_SECURE": "0"}).cookie_secure is False
    with pytest.raises(SettingsError, match="QUOTAWATCH_COOKIE_SECURE"):
        load_settings({**home, "QUOTAWATCH_COOKIE_SECURE": "maybe"})
