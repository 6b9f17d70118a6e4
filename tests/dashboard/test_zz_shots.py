from __future__ import annotations
import time
from pathlib import Path
from typing import Any
from qw_dashboard_support import PASSWORD
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def test_shots(dash_duo: Any, app: Any) -> None:
    port = _free_port()
    dash_duo.start_server(app, navigate=False, port=port)
    base = f"http://localhost:{port}"
    d = dash_duo.driver
    d.set_window_size(1440, 900)
    out = Path("/tmp/a11y_shots"); out.mkdir(exist_ok=True)
    d.get(f"{base}/login?next=/")
    d.save_screenshot(str(out / "login.png"))
    d.find_element("id", "username").send_keys("reg")
    d.find_element("id", "password").send_keys(PASSWORD)
    d.find_element("id", "login-submit").click()
    dash_duo.wait_for_element("#city-grid .ag-row", timeout=15)
    time.sleep(1.5)
    keys = lambda *k: ActionChains(d).send_keys(*k).perform()
    keys(Keys.TAB); time.sleep(0.3); d.save_screenshot(str(out / "skip.png"))
    keys(Keys.ENTER, Keys.TAB); time.sleep(0.3); d.save_screenshot(str(out / "dropdown_focus.png"))
    keys(Keys.TAB, Keys.TAB); time.sleep(0.3); d.save_screenshot(str(out / "radio_focus.png"))
    for _ in range(4): keys(Keys.TAB)
    keys(Keys.ARROW_DOWN); time.sleep(0.3)
    d.execute_script("document.activeElement.scrollIntoView({block:'center'})")
    d.save_screenshot(str(out / "grid_focus.png"))
    keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT); time.sleep(0.3)
    d.save_screenshot(str(out / "grid_status_focus.png"))
    d.get(base + "/building/B1"); dash_duo.wait_for_element("#building-meters .ag-row", timeout=15); time.sleep(1.5)
    d.find_element("id", "lang-toggle").click(); time.sleep(2)
    d.save_screenshot(str(out / "building_en.png"))
    (out / "building_en_title.txt").write_text(d.title + "\n" + d.execute_script("return document.documentElement.lang") + "\n" + "\n".join(g.get_attribute("aria-label") for g in d.find_elements("css selector", ".dash-graph")))
    d.get(base + "/retrofit"); dash_duo.wait_for_element("#retro-grid .ag-row", timeout=15); time.sleep(1)
    d.save_screenshot(str(out / "retrofit_en.png"))
