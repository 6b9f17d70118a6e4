"""Accessibility in headless Chromium: axe-core (WCAG 2.1 A and AA rules) on every page, for
every role, in both languages and after a language switch, failing on any serious or
critical violation; and a keyboard-only walk from sign-in to a building page."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from axe_selenium_python import Axe
from qw_dashboard_support import PASSWORD
from selenium.webdriver.common.by import By

from dashboard import ids

pytestmark = pytest.mark.browser

AXE_SCRIPT = Path(__file__).with_name("axe") / "axe.min.js"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
