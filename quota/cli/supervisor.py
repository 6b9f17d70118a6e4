"""Keep child processes running: a child that dies is started again after a back-off.

Used by ``make run`` (:mod:`quota.cli.run`) for the scheduler and the dashboard. A child that
exits unexpectedly is restarted after ``first_delay_s``, doubling at each quick death up to
``max_delay_s``; a child that ran ``healthy_after_s`` or longer before dying starts the
back-off afresh. ``next_argv`` may change a child's command for the restart (the scheduler
that lost its lock to another one comes back as ``--standby``).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STOP_TIMEOUT_S = 15.0


def next_delay(
    previous_s: float | None, ran_s: float, first_s: float, max_s: float, healthy_after_s: float
) -> float:
    """The wait [s] before restarting a child that ran ``ran_s`` seconds (pure)."""
    if previous_s is None or ran_s >= healthy_after_s:
        return first_s
    return min(previous_s * 2, max_s)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    delay_s: float | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


@dataclass
class Supervisor:
    """Starts, watches and restarts named children. ``say`` receives progress lines."""

    say: Callable[[str], None]
    popen_kwargs: dict[str, Any] = field(default_factory=dict)
    first_delay_s: float = 1.0
    max_delay_s: float = 60.0
    healthy_after_s: float = 60.0
    next_argv: Callable[[Child, int], list[str]] | None = None
    children: dict[str, Child] = field(default_factory=dict)

    def start(self, name: str, argv: list[str]) -> Child:
        child = Child(name=name, argv=list(argv))
        self.children[name] = child
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, **self.popen_kwargs)
        child.started_at = time.monotonic()
        child.restart_at = None

    def poll(self) -> None:
        """Notice children that exited and restart those whose back-off has passed."""
        now = time.monotonic()
        for child in self.children.values():
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self.say(f"{child.name}: starting again (restart {child.restarts})")
                    self._spawn(child)
                continue
            code = child.process.poll() if child.process else None
            if code is None:
                continue
            child.exits.append(code)
            child.delay_s = next_delay(
                child.delay_s,
                now - child.started_at,
                self.first_delay_s,
                self.max_delay_s,
                self.healthy_after_s,
            )
            if self.next_argv is not None:
                child.argv = self.next_argv(child, code)
            child.restart_at = now + child.delay_s
            self.say(
                f"{child.name} stopped unexpectedly (exit {code}); restarting in "
                f"{child.delay_s:g} s"
            )

    def running(self, name: str) -> subprocess.Popen[bytes] | None:
        child = self.children.get(name)
        if child is None or child.process is None or child.process.poll() is not None:
            return None
        return child.process

    def stop_all(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM every running child, then wait (kill after ``timeout_s``)."""
        for child in self.children.values():
            child.restart_at = None
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + timeout_s
        for child in self.children.values():
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {timeout_s:.0f} s; killing it")
                child.process.kill()
                child.process.wait()
