"""Integration fixtures: a real `polystack run` subprocess on a free port, and the in-process client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
POLYSTACK = [sys.executable, "-m", "polystack.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningServer:
    """A `polystack run` child process; its output goes to a log file shown on failure."""

    def __init__(self, config: str, *, env: dict[str, str] | None = None, log_dir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*POLYSTACK, "run", config, "--port", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=ROOT,
        )

    def wait_ready(self, timeout: float = 120) -> RunningServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session", autouse=True)
def _stores_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Distributions keep their SQLite files under POLYSTACK_STORE_DIR: never the developer's home here."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLYSTACK_STORE_DIR", str(tmp_path_factory.mktemp("stores")))
        yield


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Start servers on demand; all are stopped at the end of the session."""
    started: list[RunningServer] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(config: str, env: dict[str, str] | None = None, timeout: float = 120) -> RunningServer:
        server = RunningServer(config, env=env, log_dir=log_dir)
        started.append(server)
        return server.wait_ready(timeout)

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def starter_server(server_factory) -> RunningServer:  # type: ignore[no-untyped-def]
    return server_factory("starter")
