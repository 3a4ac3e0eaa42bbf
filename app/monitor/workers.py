"""``thongsuot serve --workers N``: the processes of one host (docs/design.md §4).

The main process serves the API and is one monitor replica; ``N - 1`` children
run the monitor only (role ``scheduler``, their ``/metrics`` on the next ports,
loopback only), each with a data directory (journal) of its own. The replicas
share the checks through shard leases in PostgreSQL, so a child that dies loses
nothing but its shards for one lease; the supervisor starts it again.

SQLite allows one process: :func:`hold_sqlite_lock` takes an exclusive ``flock``
on ``<db>.lock`` for the life of the process, and a second ``serve`` on the same
file refuses to start.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.config import Settings

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


class SingleReplicaError(RuntimeError):
    """Another process already runs the monitor on this SQLite file."""


class WorkerPortsBusy(RuntimeError):
    """A port a ``--workers`` child would serve its ``/metrics`` on is taken."""


def check_worker_ports(settings: Settings, count: int) -> None:
    """Child ``i`` serves ``/metrics`` on 127.0.0.1:``port + i``; refuse to start, naming
    the ports, when one is taken: the child would fail on "address already in use"
    and be started again, over and over, with its replica missing meanwhile."""
    wanted = [settings.port + i for i in range(1, count)]
    busy = [port for port in wanted if not _bindable(port)]
    if not busy:
        return
    ports = ", ".join(str(p) for p in busy)
    raise WorkerPortsBusy(
        f"Cổng {ports} (127.0.0.1) đã có tiến trình khác dùng; với --workers {count}, tiến "
        f"trình con thứ i phục vụ /metrics ở cổng {settings.port} + i. Hãy chọn --port "
        "(THONGSUOT_PORT) khác hoặc giải phóng các cổng đó.\n"
        f"Port(s) {ports} on 127.0.0.1 are in use; with --workers {count}, worker i serves "
        f"/metrics on port {settings.port} + i. Choose another --port (THONGSUOT_PORT) or "
        "free those ports."
    )


def _bindable(port: int) -> bool:
    """True when a listener could bind 127.0.0.1:``port`` now (as uvicorn binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def sqlite_path(settings: Settings) -> Path | None:
    """The database file of an SQLite URL; None for PostgreSQL or an in-memory database."""
    if not settings.is_sqlite:
        return None
    path = settings.database_url.split("///", 1)[-1].split("?", 1)[0]
    if not path or path == ":memory:" or "mode=memory" in settings.database_url:
        return None
    return Path(path).expanduser().absolute()


def hold_sqlite_lock(settings: Settings) -> int | None:
    """Lock ``<db>.lock`` exclusively until the process ends (the fd is returned and
    kept open); :class:`SingleReplicaError` if another process holds it."""
    path = sqlite_path(settings)
    if path is None:
        return None
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SingleReplicaError(
            f"Một tiến trình thongsuot khác đang chạy trên cơ sở dữ liệu SQLite {path} "
            f"(khóa {lock}). SQLite chỉ cho phép một tiến trình giám sát; để chạy nhiều "
            "bản sao, hãy dùng PostgreSQL.\n"
            f"Another thongsuot process is running on the SQLite database {path} "
            f"(lock {lock}). SQLite allows one monitor process; use PostgreSQL to run "
            "several replicas."
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def worker_count(
    settings: Settings,
    requested: int | None,
    push_checks: int | None = 0,
    agent_checks: int | None = None,
) -> int:
    """``--workers``, else ``THONGSUOT_WORKERS``, else the core count on PostgreSQL
    (1 on SQLite, which allows one process).

    Push (heartbeat) beats no longer hold the count down: a beat for a check another
    replica owns is relayed to it through SQL (``push_beat``, docs/design.md §4.1).
    Agents still need one process: their results and liveness beats reach only the
    API process (docs/agents.md). ``agent_checks`` counts the agents' liveness checks
    (``agent.<name>``); ``None`` means they were not counted apart from
    ``push_checks``, which may then include them, so every heartbeat check keeps one
    process as before: by default, and refused when more are asked for.
    ``push_checks`` is ``None`` when unknown (no inventory file), which also means
    one process unless asked.
    """
    n = requested or settings.workers
    if settings.is_sqlite:
        if n is not None and n > 1:
            raise SingleReplicaError(
                "SQLite chỉ cho phép một tiến trình giám sát (--workers 1); hãy dùng PostgreSQL.\n"
                "SQLite allows one monitor process (--workers 1); use PostgreSQL for more."
            )
        return 1
    single = push_checks if agent_checks is None or push_checks is None else agent_checks
    if single and n is not None and n > 1:
        raise SingleReplicaError(
            f"Kiểm kê có {single} phép kiểm tra kết nối của điểm đo tại chỗ (agent); kết quả "
            "và tín hiệu của chúng chỉ đến tiến trình API nên chưa chạy được nhiều tiến trình "
            "(--workers 1).\n"
            f"The inventory has {single} agent liveness checks; agents' results and beats "
            "reach only the API process, so several workers are not supported with them yet "
            "(--workers 1)."
            if agent_checks is not None
            else f"Kiểm kê có {single} phép kiểm tra tín hiệu (heartbeat), có thể gồm điểm đo "
            "tại chỗ (agent), mà kết quả chỉ đến tiến trình API nên chưa chạy được nhiều tiến "
            "trình (--workers 1).\n"
            f"The inventory has {single} heartbeat checks, which may include agents' liveness "
            "checks; agents' results reach only the API process, so several workers are not "
            "supported with them yet (--workers 1)."
        )
    if n is not None:
        return n
    return 1 if single != 0 else (len(os.sched_getaffinity(0)) or 1)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


STABLE_S = 60.0  # a child that ran this long is restarted after restart_delay again
MAX_RESTART_DELAY_S = 60.0
SERVE_CHILD = ("-m", "app.cli", "serve", "--no-migrate", "--workers", "1")


class Supervisor:
    """Starts ``count`` monitor-only children and starts again any that exits: after
    ``restart_delay``, doubled for each exit of a child that had run less than
    ``STABLE_S`` (up to ``MAX_RESTART_DELAY_S``), so one that cannot start (a
    database refusing it, a broken environment) is not started every second."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        *,
        restart_delay: float = 1.0,
        child_args: tuple[str, ...] = SERVE_CHILD,
    ) -> None:
        self.settings = settings
        self.count = count
        self.restart_delay = restart_delay
        self.child_args = child_args
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.restarts = 0
        self._started: dict[int, float] = {}  # monotonic start of each child
        self._quick_exits: dict[int, int] = {}  # exits in a row before STABLE_S
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _env(self, index: int) -> dict[str, str]:
        s = self.settings
        env = {
            **os.environ,
            "THONGSUOT_DATABASE_URL": s.database_url,
            "THONGSUOT_ROLE": "scheduler",
            "THONGSUOT_HOST": "127.0.0.1",
            "THONGSUOT_PORT": str(s.port + index),
            "THONGSUOT_DATA_DIR": str(s.data_dir / f"worker-{index}"),
            "THONGSUOT_WORKERS": "1",
        }
        env.pop("THONGSUOT_INVENTORY", None)  # the main process syncs the inventory
        env.pop("THONGSUOT_SPOOL_DIR", None)  # a journal directory is one process's
        return env

    def _spawn(self, index: int) -> None:
        cmd = [sys.executable, *self.child_args]
        self.children[index] = subprocess.Popen(
            cmd, env=self._env(index), preexec_fn=_die_with_parent
        )
        self._started[index] = time.monotonic()
        log.info("worker %d started (pid %d)", index, self.children[index].pid)

    def restart_delay_for(self, index: int) -> float:
        """How long to wait before starting child ``index`` again, which just exited."""
        now = time.monotonic()
        if now - self._started.get(index, now) >= STABLE_S:
            self._quick_exits[index] = 0
        quick = self._quick_exits.get(index, 0)
        self._quick_exits[index] = quick + 1
        return min(self.restart_delay * 2.0**quick, MAX_RESTART_DELAY_S)

    def start(self) -> None:
        for index in range(1, self.count):
            self._spawn(index)
        self._thread = threading.Thread(target=self._watch, name="workers", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for index, proc in list(self.children.items()):
                if proc.poll() is None or self._stop.is_set():
                    continue
                delay = self.restart_delay_for(index)
                log.warning(
                    "worker %d exited (%s); starting it again in %.0f s",
                    index,
                    proc.returncode,
                    delay,
                )
                if not self._stop.wait(delay):
                    self.restarts += 1
                    self._spawn(index)

    def stop(self, grace: float = 40.0) -> None:
        """SIGTERM every child, wait up to ``grace`` seconds, then SIGKILL."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for proc in self.children.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + grace
        for proc in self.children.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


__all__ = [
    "SingleReplicaError",
    "Supervisor",
    "WorkerPortsBusy",
    "check_worker_ports",
    "hold_sqlite_lock",
    "worker_count",
]
