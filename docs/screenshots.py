"""Screenshots of the dashboard's main pages for the README, taken in headless Chromium.

    .venv/bin/python -m quota.cli.run --once          # the demo city in the make-run database
    .venv/bin/python docs/screenshots.py          # writes docs/img/*.png

Without ``--url`` the script starts ``quotawatch serve`` on a free local port against the
configured database (the make-run database by default) and stops it afterwards; with
``--url`` it uses a dashboard that is already running (for example the one of ``make run``).
It signs in as each demo user (regulator, analyst, manager), in Chinese and in English, in
a 1440×900 window, and saves ``docs/img/PAGE.png`` (analyst, Chinese: the README's images)
and ``docs/img/ROLE/LANG/PAGE.png`` for every role and language, where PAGE is

    city      City compliance (My buildings for a manager)
    building  one building (the first over its quota the user may see, else the first listed)
    retrofit  Retrofit candidates (not for managers)
    quality   Data quality

Each shot is the first screen (what a user sees on load) unless ``--full-page``.

Needs Debian's ``chromium`` and ``chromium-driver`` (installed by ``make setup``) and a font
with Chinese glyphs (``apt-get install fonts-wqy-microhei`` or ``fonts-noto-cjk``), else the
Chinese labels and names come out as boxes.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGES = (("city", "/"), ("building", None), ("retrofit", "/retrofit"), ("quality", "/quality"))

ROLES = (
    ("regulator", "demo-regulator"),
    ("analyst", "demo-analyst"),
    ("manager", "demo-manager"),
)
BUILDING_SQL = """
SELECT r.building_id
  FROM evaluation_result r
 WHERE r.evaluation_id = (SELECT max(evaluation_id) FROM evaluation_run
                           WHERE year = (SELECT max(year) FROM evaluation_run))
   AND r.basis = 'electricity_kwh'
   AND (%(username)s::text IS NULL OR r.building_id IN (
        SELECT a.building_id FROM user_building a WHERE a.username = %(username)s))
 ORDER BY (r.status LIKE 'over%%') DESC, r.utilization DESC NULLS LAST, r.building_id
 LIMIT 1
"""


def has_chinese_font() -> bool:
    """True when fontconfig knows a font covering Chinese."""
    try:
        found = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        return False
    return bool(found.strip())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_dashboard(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "quota.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the dashboard did not start (see its messages above)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the dashboard did not start listening within 60 s")


def pick_building(manager: str | None = None) -> str | None:
    """The building to show: the worst one (of ``manager``'s buildings when given)."""
    from quota.db import connect
    from quota.settings import load_settings

    with connect(load_settings()) as conn:
        row = conn.execute(BUILDING_SQL, {"username": manager}).fetchone()
    return row["building_id"] if row else None


def browser(width: int, height: int) -> webdriver.Chrome:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def settle(driver: webdriver.Chrome, timeout_s: float = 60.0) -> None:
    """Wait until Dash has finished its callbacks, every chart is drawn and every grid
    shows its rows or says it has none (a loaded machine answers slowly)."""
    WebDriverWait(driver, timeout_s).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && "
            "!document.querySelector('[data-dash-is-loading=\"true\"]') && "
            "!document.querySelector('._dash-loading') && "
            "Array.from(document.querySelectorAll('.dash-graph')).every("
            "  g => Array.from(g.querySelectorAll('.gtitle, .annotation-text'))"
            "           .some(e => e.textContent.trim())) && "
            "Array.from(document.querySelectorAll('.ag-root')).every("
            "  g => g.querySelector('.ag-center-cols-container .ag-row, "
            "                       .ag-overlay-no-rows-center'));"
        )
    )
    time.sleep(2.0)  # let Plotly finish its transitions


def sign_in(driver: webdriver.Chrome, base_url: str, username: str, password: str) -> None:
    driver.get(base_url + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 20).until(expected_conditions.url_changes(base_url + "/login"))


def set_language(driver: webdriver.Chrome, lang: str) -> None:
    """Choose the dashboard's language (kept in the browser's local storage)."""
    driver.execute_script(
        "localStorage.setItem('lang-store', JSON.stringify(arguments[0]));"
        "localStorage.setItem('lang-store-timestamp', String(Date.now()));",
        lang,
    )


def capture(
    driver: webdriver.Chrome, url: str, path: Path, size: tuple[int, int], full_page: bool
) -> None:
    width, height = size
    driver.set_window_size(width, height)
    driver.get(url)
    settle(driver)
    if full_page:
        page_height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(max(int(page_height) + 40, height), 3000))
        settle(driver, 10)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    sys.stdout.write(f"wrote {path}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description="Screenshots of the dashboard's main pages.")
    parser.add_argument("--url", help="a running dashboard (default: start one)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--full-page", action="store_true", help="the whole page, not one screen")
    parser.add_argument(
        "--roles", default="regulator,analyst,manager", help="comma-separated demo users"
    )
    args = parser.parse_args()
    if not has_chinese_font():
        raise SystemExit(
            "no font with Chinese glyphs: apt-get install fonts-wqy-microhei (or fonts-noto-cjk)"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    server = None
    base_url = args.url.rstrip("/") if args.url else None
    if base_url is None:
        port = free_port()
        server = start_dashboard(port)
        base_url = f"http://127.0.0.1:{port}"
    wanted = set(args.roles.split(","))
    size = (args.width, args.height)
    try:
        for username, password in ROLES:
            if username not in wanted:
                continue
            building = pick_building(username if username == "manager" else None)
            for lang in ("zh", "en"):
                driver = browser(args.width, args.height)
                try:
                    sign_in(driver, base_url, username, password)
                    set_language(driver, lang)
                    for name, path in PAGES:
                        if path == "/retrofit" and username == "manager":
                            continue
                        if path is None:
                            if building is None:
                                sys.stdout.write("no evaluated building: no building page\n")
                                continue
                            path = f"/building/{building}"
                        target = args.out / username / lang / f"{name}.png"
                        capture(driver, base_url + path, target, size, args.full_page)
                        if username == "analyst" and lang == "zh":
                            (args.out / f"{name}.png").write_bytes(target.read_bytes())
                finally:
                    driver.quit()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
