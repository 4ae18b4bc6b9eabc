"""Integration fixtures: a real `polystack run` subprocess on a free port, and the in-process client."""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from polystack.testing.child_process import ChildProcess
from polystack.testing.tcp_proxy import unused_port
from polystack.testing.throwaway_postgres import ThrowawayPostgres, pgserver_bin_dir

ROOT = Path(__file__).resolve().parents[2]
POLYSTACK = [sys.executable, "-m", "polystack.cli.main"]


class RunningServer(ChildProcess):
    """A `polystack run` child process; its output goes to a log file shown on failure."""

    def __init__(self, config: str, *, env: dict[str, str] | None = None, log_dir: Path) -> None:
        self.port = unused_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        super().__init__("server", [*POLYSTACK, "run", config, "--port", str(self.port)],
                         ready_url=f"{self.base_url}/v1/health", log_path=log_dir / f"server-{self.port}.log",
                         stop_signal=signal.SIGINT, env={**os.environ, **(env or {})}, cwd=ROOT)


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


@pytest.fixture(scope="session")
def pgvector_port() -> Iterator[int]:
    """A PostgreSQL 16 + pgvector (from the `pgserver` wheel) on a free port, for postgres-demo's vectors:
    the machine's PostgreSQL has no pgvector."""
    bin_dir = pgserver_bin_dir()
    if bin_dir is None:
        pytest.skip("postgres-demo's vectors need a PostgreSQL with pgvector: pip install pgserver==0.1.4")
    server = ThrowawayPostgres(bin_dir)
    try:
        server.start()
        yield server.port
    finally:
        server.stop()


@pytest.fixture
async def demo_env(pgvector_port, tmp_path):
    """A fresh database on each server and a files directory of this test's own."""
    name = f"polystack_demo_{uuid.uuid4().hex[:10]}"
    yield {"POSTGRES_DB": name, "PGVECTOR_PORT": str(pgvector_port), "PGVECTOR_DB": name,
           "POLYSTACK_FILES_DIR": str(tmp_path / "shared-files")}
    for port in (5432, pgvector_port):
        admin = await asyncpg.connect(database="postgres", host="127.0.0.1", port=port, user="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
