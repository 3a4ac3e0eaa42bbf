"""``serve --workers``'s supervisor starts a child that exits again, with a growing
delay while it keeps exiting soon after its start (a child that cannot start was
started again every second, forever)."""

from __future__ import annotations

import time
from pathlib import Path

from app.config import Settings
from app.monitor import workers
from app.monitor.workers import Supervisor


def test_a_child_that_keeps_exiting_is_started_again_ever_later(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+asyncpg://u@127.0.0.1:1/x", data_dir=tmp_path)
    supervisor = Supervisor(
        settings, 2, restart_delay=0.2, child_args=("-c", "import sys; sys.exit(3)")
    )
    supervisor.start()
    try:
        time.sleep(5.0)  # exits at once; started again after 0.2, 0.4, 0.8, 1.6 s (+ polls)
    finally:
        supervisor.stop(grace=5)
    # with a fixed 0.2 s (and the 0.5 s poll) it was 6 or 7
    assert 2 <= supervisor.restarts <= 4, supervisor.restarts
    assert supervisor.children[1].returncode == 3


def test_a_child_that_ran_a_while_is_started_again_soon(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+asyncpg://u@127.0.0.1:1/x", data_dir=tmp_path)
    supervisor = Supervisor(settings, 2, restart_delay=0.5, child_args=("-c", "pass"))
    supervisor._started[1] = time.monotonic()  # exits soon after each start
    assert [supervisor.restart_delay_for(1) for _ in range(8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, workers.MAX_RESTART_DELAY_S
    ]  # fmt: skip
    supervisor._started[1] = time.monotonic() - workers.STABLE_S  # it had run a minute
    assert supervisor.restart_delay_for(1) == 0.5
