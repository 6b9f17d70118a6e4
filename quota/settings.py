"""QuotaWatch settings: the only module that reads the environment.

Sources, later ones winning:

1. built-in defaults (and the rule parameters in ``quota/rules_default.toml``),
2. an optional ``quotawatch.toml`` (``$QUOTAWATCH_CONFIG``, else
   ``$QUOTAWATCH_HOME/quotawatch.toml``, else ``./quotawatch.toml``),
3. environment variables:

   ``QUOTAWATCH_DATABASE_URL``  use that PostgreSQL/TimescaleDB server instead of the embedded one
   ``QUOTAWATCH_HOME``          where local state lives (embedded cluster, inbox, secrets);
                                default ``<checkout>/.quotawatch`` (git-ignored)
   ``QUOTAWATCH_TIMEZONE``      IANA zone of the quota calendar; default ``Asia/Shanghai``
   ``QUOTAWATCH_DATABASE_NAME`` database name on the embedded cluster; default ``quotawatch``
   ``QUOTAWATCH_SECRET_KEY``    dashboard session-signing secret (else generated under home)
   ``QUOTAWATCH_COOKIE_SECURE`` ``1`` marks the dashboard's session cookie ``Secure`` (sent over
                                HTTPS only): set it when the dashboard is served behind TLS
                                (docs/security.md); default ``0``
   ``QUOTAWATCH_INBOX``         folder the scheduler loads reading files from; default
                                ``$QUOTAWATCH_HOME/inbox``
   ``QUOTAWATCH_INBOX_SETTLE_SECONDS``  the inbox leaves a file modified less than this long
                                ago for a later run (it may still be being written); default 30
   ``QUOTAWATCH_INGEST_BATCH_ROWS``  rows per ingest batch (memory bound; default 100,000)
   ``QUOTAWATCH_INGEST_DEFER_INDEXES``  ``0`` keeps index upkeep on for chunks a load creates
                                (default ``1``: indexed once after their rows are written,
                                when the database role is a superuser; see ingest/fresh.py)
   ``QUOTAWATCH_INGEST_TEST_PAUSE``  seconds the loader sleeps after each batch (tests only)
   ``QUOTAWATCH_METRICS_TOKEN``  when set, ``GET /metrics`` requires ``Authorization: Bearer
                                <token>`` (default: open, like ``/healthz``)
   ``QUOTAWATCH_SCHEDULER_HEARTBEAT_SECONDS``  seconds between the scheduler's checks of its
                                database lock and heartbeats (default 10)
   ``QUOTAWATCH_SCHEDULER_RECONNECT_MAX_SECONDS``  longest wait between two reconnection
                                attempts of the scheduler (default 60; the first waits 1 s)

Every other module receives a :class:`Settings` object (``get_settings()``) and never looks at
``os.environ`` itself.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
RULES_DEFAULT_PATH = Path(__file__).resolve().parent / "rules_default.toml"

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_DATABASE_NAME = "quotawatch"


class SettingsError(ValueError):
    """A setting has a value QuotaWatch cannot use; the message says which and why."""


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one QuotaWatch process.

    ``database_url`` is ``None`` when the embedded cluster under ``home`` is used.
    ``rules`` holds the domain parameters (tiers, factors, thresholds) with their sources,
    as a nested dict read from ``rules_default.toml`` and the ``[rules]`` table of
    ``quotawatch.toml``.
    """

    home: Path
    timezone_name: str = DEFAULT_TIMEZONE
    database_url: str | None = None
    database_name: str = DEFAULT_DATABASE_NAME
    secret_key: str | None = None
    cookie_secure: bool = False
    config_path: Path | None = None
    inbox_interval_minutes: float = 5.0
    nightly_evaluation_hour: int = 2
    inbox_path: Path | None = None
    inbox_settle_seconds: float = 30.0
    ingest_batch_rows: int = 100_000
    ingest_test_pause_seconds: float = 0.0
    ingest_defer_indexes: bool = True
    metrics_token: str | None = None
    scheduler_heartbeat_seconds: float = 10.0
    scheduler_reconnect_max_seconds: float = 60.0
    rules: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        """The quota calendar's time zone."""
        return ZoneInfo(self.timezone_name)

    @property
    def is_embedded(self) -> bool:
        """True when QuotaWatch runs its own PostgreSQL cluster under ``home``."""
        return self.database_url is None

    @property
    def inbox_dir(self) -> Path:
        """Folder the meter gateways drop reading files into."""
        return self.inbox_path or self.home / "inbox"

    @property
    def cluster_dir(self) -> Path:
        """Folder of the embedded PostgreSQL cluster's state (data, socket, log)."""
        return self.home / "pg"


def _flag(name: str, text: str) -> bool:
    """A yes/no environment setting (1/0, true/false, yes/no, on/off)."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={text!r}: expected 1 or 0 (true/false, yes/no, on/off)")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, the optional config file and ``environ``.

    ``environ`` defaults to ``os.environ``; keyword ``overrides`` (field names of
    :class:`Settings`) win over everything, which is how tests and the CLI pass options.
    """
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("QUOTAWATCH_HOME") or PROJECT_ROOT / ".quotawatch").expanduser()
    home = home.resolve()

    config_path: Path | None = None
    for candidate in (
        env.get("QUOTAWATCH_CONFIG"),
        str(home / "quotawatch.toml"),
        str(Path.cwd() / "quotawatch.toml"),
    ):
        if candidate and Path(candidate).is_file():
            config_path = Path(candidate).resolve()
            break
    if env.get("QUOTAWATCH_CONFIG") and config_path is None:
        raise SettingsError(f"QUOTAWATCH_CONFIG={env['QUOTAWATCH_CONFIG']}: no such file")
    config = _read_toml(config_path) if config_path else {}
    general = config.get("quotawatch", config)

    rules = _deep_merge(_read_toml(RULES_DEFAULT_PATH), config.get("rules", {}))

    values: dict[str, Any] = {
        "home": home,
        "config_path": config_path,
        "timezone_name": general.get("timezone", DEFAULT_TIMEZONE),
        "database_url": general.get("database_url"),
        "database_name": general.get("database_name", DEFAULT_DATABASE_NAME),
        "secret_key": general.get("secret_key"),
        "cookie_secure": _flag("cookie_secure", str(general.get("cookie_secure", False))),
        "inbox_interval_minutes": float(general.get("inbox_interval_minutes", 5.0)),
        "nightly_evaluation_hour": int(general.get("nightly_evaluation_hour", 2)),
        "inbox_settle_seconds": float(general.get("inbox_settle_seconds", 30.0)),
        "ingest_batch_rows": int(general.get("ingest_batch_rows", 100_000)),
        "ingest_defer_indexes": bool(general.get("ingest_defer_indexes", True)),
        "metrics_token": general.get("metrics_token"),
        "scheduler_heartbeat_seconds": float(general.get("scheduler_heartbeat_seconds", 10.0)),
        "scheduler_reconnect_max_seconds": float(
            general.get("scheduler_reconnect_max_seconds", 60.0)
        ),
        "rules": rules,
    }
    env_map = {
        "QUOTAWATCH_DATABASE_URL": "database_url",
        "QUOTAWATCH_TIMEZONE": "timezone_name",
        "QUOTAWATCH_DATABASE_NAME": "database_name",
        "QUOTAWATCH_SECRET_KEY": "secret_key",
        "QUOTAWATCH_METRICS_TOKEN": "metrics_token",
    }
    for var, name in env_map.items():
        if env.get(var):
            values[name] = env[var]
    if general.get("inbox_dir"):
        values["inbox_path"] = Path(general["inbox_dir"]).expanduser()
    if env.get("QUOTAWATCH_INBOX"):
        values["inbox_path"] = Path(env["QUOTAWATCH_INBOX"]).expanduser()
    if env.get("QUOTAWATCH_INBOX_SETTLE_SECONDS"):
        values["inbox_settle_seconds"] = float(env["QUOTAWATCH_INBOX_SETTLE_SECONDS"])
    if env.get("QUOTAWATCH_INGEST_BATCH_ROWS"):
        values["ingest_batch_rows"] = int(env["QUOTAWATCH_INGEST_BATCH_ROWS"])
    if env.get("QUOTAWATCH_INGEST_DEFER_INDEXES"):
        values["ingest_defer_indexes"] = _flag(
            "QUOTAWATCH_INGEST_DEFER_INDEXES", env["QUOTAWATCH_INGEST_DEFER_INDEXES"]
        )
    for var, name in (
        ("QUOTAWATCH_SCHEDULER_HEARTBEAT_SECONDS", "scheduler_heartbeat_seconds"),
        ("QUOTAWATCH_SCHEDULER_RECONNECT_MAX_SECONDS", "scheduler_reconnect_max_seconds"),
    ):
        if env.get(var):
            try:
                values[name] = float(env[var])
            except ValueError as exc:
                raise SettingsError(f"{var}={env[var]!r}: expected a number of seconds") from exc
    if env.get("QUOTAWATCH_COOKIE_SECURE"):
        values["cookie_secure"] = _flag("QUOTAWATCH_COOKIE_SECURE", env["QUOTAWATCH_COOKIE_SECURE"])
    if env.get("QUOTAWATCH_INGEST_TEST_PAUSE"):
        values["ingest_test_pause_seconds"] = float(env["QUOTAWATCH_INGEST_TEST_PAUSE"])
    values.update(overrides)
    if values.get("home") is not None:
        values["home"] = Path(values["home"]).resolve()

    if values["inbox_settle_seconds"] < 0:
        raise SettingsError("inbox_settle_seconds must be 0 or more")
    try:
        ZoneInfo(values["timezone_name"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(
            f"time zone {values['timezone_name']!r} is not a known IANA zone "
            "(set QUOTAWATCH_TIMEZONE, e.g. Asia/Shanghai)"
        ) from exc
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return load_settings()
