"""`make run`'s supervisor restarts a child that dies, with back-off, and leaves the others
running."""

from __future__ import annotations

import sys

from quota.cli.run import _argv_after_exit
from quota.cli.supervisor import Child, Supervisor, next_delay
from tests.ops.support import wait_for


def test_next_delay_doubles_on_quick_deaths_and_resets_after_a_healthy_run():
    assert next_delay(None, 0.1, 1.0, 60.0, 60.0) == 1.0
    assert next_delay(1.0, 0.1, 1.0, 60.0, 60.0) == 2.0
    assert next_delay(32.0, 0.1, 1.0, 60.0, 60.0) == 60.0
    assert next_delay(60.0, 0.1, 1.0, 60.0, 60.0) == 60.0
    assert next_delay(60.0, 600.0, 1.0, 60.0, 60.0) == 1.0


def test_a_dying_child_is_restarted_with_back_off_and_the_other_keeps_running(tmp_path):
    lines: list[str] = []
    counter = tmp_path / "starts"
    dying = [
        sys.executable,
        "-c",
        f"open({str(counter)!r}, 'a').write('x'); raise SystemExit(7)",
    ]
    steady = [sys.executable, "-c", "import time; time.sleep(120)"]
    supervisor = Supervisor(say=lines.append, first_delay_s=0.05, max_delay_s=0.4)
    try:
        supervisor.start("dying", dying)
        supervisor.start("steady", steady)
        steady_pid = supervisor.running("steady").pid

        def started_four_times() -> bool:
            supervisor.poll()
            return counter.exists() and len(counter.read_text()) >= 4

        assert wait_for(started_four_times, 60, step_s=0.02)
        child = supervisor.children["dying"]
        assert child.restarts >= 3
        assert set(child.exits) == {7}
        assert child.delay_s is not None and child.delay_s > 0.05  # backed off
        assert supervisor.running("steady").pid == steady_pid
        assert any("dying stopped unexpectedly (exit 7); restarting in" in x for x in lines)
    finally:
        supervisor.stop_all(10)
    assert supervisor.running("steady") is None


def test_a_scheduler_that_lost_its_lock_comes_back_as_standby():
    child = Child(name="scheduler", argv=["quotawatch", "scheduler"])
    assert _argv_after_exit(child, 3) == ["quotawatch", "scheduler", "--standby"]
    assert _argv_after_exit(child, 1) == ["quotawatch", "scheduler"]
