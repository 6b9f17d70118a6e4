"""The embedded default: a project-local PostgreSQL cluster with TimescaleDB.

With no ``QUOTAWATCH_DATABASE_URL``, QuotaWatch runs its own cluster whose state lives under
``$QUOTAWATCH_HOME/pg``: ``data/`` (the cluster), ``run/`` (the Unix socket), ``server.log``,
``port`` and ``password`` (for the loopback TCP listener, scram-sha-256).

PostgreSQL refuses to run as root, so when QuotaWatch runs as root the server runs as the
``postgres`` system user. That user must be able to enter every folder on the way to the data
directory; when it cannot (a checkout under ``/root``, pytest's private temp folders), the
cluster's state moves to ``/var/tmp/quotawatch-<hash of home>/`` instead, always the same
place for the same home. A Unix socket path must stay under ~100 bytes, so the socket folder
moves to ``/tmp/quotawatch-<hash>/`` when the home path is too long.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from quota.settings import Settings

SERVER_USER_WHEN_ROOT = "postgres"
SOCKET_PATH_LIMIT = 100  # bytes, including the socket file name ".s.PGSQL.<port>"
BASE_PORT = 55432


class ClusterError(RuntimeError):
    """The embedded cluster could not be created, started or stopped; the message says why."""


# Settings of the embedded cluster that a reload applies: written at creation, and brought
# up to date on clusters created by an older version by `quotawatch db up`.
RELOADABLE_SETTINGS = {
    # lz4: full-page images compressed at a fraction of pglz's CPU (an index build of 2 M
    # readings: 1.4 s with lz4, 3.3 s with pglz, 1.2 s uncompressed).
    "wal_compression": "lz4",
}


def _pg_bin_dirs() -> list[Path]:
    """PostgreSQL server bin folders, newest major first."""
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return []
    majors = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name))
    return [p / "bin" for p in majors if (p / "bin" / "postgres").exists()]


def find_server_bin() -> Path:
    """The bin folder of the newest PostgreSQL that has the TimescaleDB extension."""
    candidates = _pg_bin_dirs()
    for bin_dir in candidates:
        pg_config = bin_dir / "pg_config"
        libdir = bin_dir.parent / "lib"
        if pg_config.exists():
            out = subprocess.run(
                [str(pg_config), "--pkglibdir"], capture_output=True, text=True, check=False
            )
            if out.returncode == 0 and out.stdout.strip():
                libdir = Path(out.stdout.strip())
        if any(libdir.glob("timescaledb*.so")):
            return bin_dir
    if candidates:
        raise ClusterError(
            f"PostgreSQL found in {candidates[0]} but without the TimescaleDB extension; "
            "run `make setup` (it installs or builds TimescaleDB), "
            "or point QUOTAWATCH_DATABASE_URL at a server that has it"
        )
    raise ClusterError(
        "no PostgreSQL server is installed; run `make setup`, "
        "or point QUOTAWATCH_DATABASE_URL at a TimescaleDB server"
    )


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Cluster:
    """Locations and control of one embedded cluster."""

    home: Path  # $QUOTAWATCH_HOME/pg as configured
    base: Path  # where the state really lives (home, or the /var/tmp fallback)
    socket_dir: Path
    run_as: str | None  # system user that runs the server (None: the current user)

    @classmethod
    def from_settings(cls, settings: Settings) -> Cluster:
        home = settings.cluster_dir
        run_as = SERVER_USER_WHEN_ROOT if os.geteuid() == 0 else None
        key = _short_hash(str(home))
        base = home
        if run_as and not _reachable_by(home, run_as):
            base = Path("/var/tmp") / f"quotawatch-{key}"
        socket_dir = base / "run"
        if len(str(socket_dir)) + len("/.s.PGSQL.65535") >= SOCKET_PATH_LIMIT:
            socket_dir = Path("/tmp") / f"quotawatch-{key}"
        return cls(home=home, base=base, socket_dir=socket_dir, run_as=run_as)

    # -- locations -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    @property
    def port_file(self) -> Path:
        return self.base / "port"

    @property
    def password_file(self) -> Path:
        return self.base / "password"

    def port(self) -> int:
        """The cluster's TCP port (chosen when it was created)."""
        try:
            return int(self.port_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return BASE_PORT + int(_short_hash(str(self.home)), 16) % 1000

    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    # -- control ---------------------------------------------------------------------------
    def _cmd(self, argv: list[str]) -> list[str]:
        if self.run_as is None:
            return argv
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self.run_as, "--", *argv]
        return ["su", "-s", "/bin/sh", self.run_as, "-c", " ".join(map(_sh_quote, argv))]

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self._cmd(argv), capture_output=True, text=True, check=False, cwd="/")
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{Path(argv[0]).name} failed ({proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()}"
            )
        return proc

    def _prepare_dir(self, path: Path, mode: int = 0o700) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(mode)

    def _hand_over(self, path: Path) -> None:
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True when it was created."""
        if self.exists():
            return False
        bin_dir = find_server_bin()
        self.home.mkdir(parents=True, exist_ok=True)
        self._prepare_dir(self.base)
        self._prepare_dir(self.socket_dir, 0o755)
        port = _free_port(BASE_PORT + int(_short_hash(str(self.home)), 16) % 1000)
        self.port_file.write_text(f"{port}\n")
        self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
        self.password_file.chmod(0o600)
        self._hand_over(self.password_file)
        self._hand_over(self.port_file)
        if self.data_dir.exists() and not any(self.data_dir.iterdir()):
            self.data_dir.rmdir()
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "quotawatch",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={self.password_file}",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
        conf = self.data_dir / "postgresql.auto.conf"
        settings_lines = [
            "shared_preload_libraries = 'timescaledb'",
            "timescaledb.telemetry_level = 'off'",
            "listen_addresses = '127.0.0.1'",
            f"port = {port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "unix_socket_permissions = 0777",
            "max_connections = 200",
            "shared_buffers = '1GB'",
            "work_mem = '64MB'",
            "maintenance_work_mem = '512MB'",
            "max_wal_size = '4GB'",
            "checkpoint_timeout = '15min'",
            *(f"{name} = '{value}'" for name, value in RELOADABLE_SETTINGS.items()),
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "logging_collector = off",
        ]
        with conf.open("a") as handle:
            handle.write("\n# QuotaWatch embedded cluster\n" + "\n".join(settings_lines) + "\n")
        return True

    def is_running(self) -> bool:
        if not self.exists():
            return False
        bin_dir = find_server_bin()
        proc = self._run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"], check=False)
        return proc.returncode == 0

    def start(self) -> bool:
        """Start the server if it is not running. Returns True when it was started."""
        if self.is_running():
            return False
        bin_dir = find_server_bin()
        self._prepare_dir(self.socket_dir, 0o755)
        if not self.log_file.exists():
            self.log_file.touch()
            self._hand_over(self.log_file)
        proc = self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "120",
                "start",
            ],
            check=False,
        )
        if proc.returncode != 0:
            tail = ""
            with contextlib.suppress(OSError):
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise ClusterError(f"the embedded PostgreSQL did not start; server log:\n{tail}")
        return True

    def stop(self) -> bool:
        """Stop the server if it is running. Returns True when it was stopped."""
        if not self.is_running():
            return False
        bin_dir = find_server_bin()
        self._run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return True


def _reachable_by(home: Path, user: str) -> bool:
    """Whether ``user`` can enter every folder on the way to ``home`` (created if needed)."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    runuser = shutil.which("runuser")
    argv = (
        [runuser, "-u", user, "--", "test", "-x", str(home)]
        if runuser
        else ["su", "-s", "/bin/sh", user, "-c", f"test -x {_sh_quote(str(home))}"]
    )
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def _free_port(start: int) -> int:
    for port in range(start, start + 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ClusterError(f"no free TCP port on 127.0.0.1 between {start} and {start + 199}")


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
