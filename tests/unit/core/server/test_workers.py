"""The supervisor's restart policy: at once after a worker that served a while, later and later after one that
keeps dying, and no restart at all while the server starts (the worker's error stops it)."""

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from polystack.core.config import parse_run_config
from polystack.core.errors import StackError
from polystack.core.server.workers import MAX_RESTART_DELAY_SECONDS, QUICK_DEATH_SECONDS, Supervisor, _Worker


class DeadProcess:
    """What a worker process looks like to the supervisor once it died (a real one takes seconds to spawn)."""

    pid = 4242
    exitcode = -9
    sentinel = -1

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool:
        return False


class ClosedPipe:
    def close(self) -> None: ...


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    config = parse_run_config({"distro_name": "x", "server": {"workers": 2}}, env={})
    with socket.socket() as sock:
        made = Supervisor(config, sock)
        yield made
    os.close(made._wake_read)
    os.close(made._wake_write)


def died(supervisor: Supervisor, *, ready: bool, age: float, error: str | None = None) -> float:
    """Report a dead worker in slot 0; returns the delay before its replacement starts."""
    worker: Any = _Worker(0, DeadProcess(), ClosedPipe(), started_at=time.monotonic() - age,  # type: ignore[arg-type]
                          ready=ready, error=error)
    supervisor.workers[0] = worker
    supervisor._exited(worker)
    return supervisor._restart_at.pop(0) - time.monotonic()


def test_a_worker_that_served_a_while_is_replaced_at_once(supervisor: Supervisor) -> None:
    supervisor.serving = True
    assert died(supervisor, ready=True, age=QUICK_DEATH_SECONDS + 60) <= 0.1


def test_a_worker_that_keeps_dying_is_replaced_later_and_later_up_to_the_cap(supervisor: Supervisor) -> None:
    supervisor.serving = True
    delays = [died(supervisor, ready=False, age=1) for _ in range(8)]
    assert [round(d) for d in delays] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert max(delays) <= MAX_RESTART_DELAY_SECONDS
    assert died(supervisor, ready=True, age=QUICK_DEATH_SECONDS + 60) <= 0.1  # serving a while resets it


def test_a_worker_dying_while_the_server_starts_stops_it_with_the_worker_s_error(supervisor: Supervisor) -> None:
    with pytest.raises(StackError, match="database down"):
        died(supervisor, ready=False, age=1, error="database down")
    with pytest.raises(StackError, match="was killed by SIGKILL while starting"):
        died(supervisor, ready=False, age=1)
