"""`polystack run` with `server.workers: 2`: two real worker processes on one port, on shared SQLite stores.

- both workers answer (the `x-polystack-worker` header names the process), a model alias registered
  through one is served by the other;
- a worker killed with SIGKILL is replaced by the parent, and the completions it had acknowledged are
  all stored (its journal segment is replayed by the new worker);
- Ctrl-C in a terminal (SIGINT to the parent and every worker) mid-stream: the stream ends with an error
  event, every process stops cleanly, exit code 0;
- concurrent completions, plain and streamed, then SIGTERM: the parent exits 0 once every worker has
  flushed, every acknowledged completion is in the database and no journal segment is left;
- an occupied port, a worker that cannot start, a registry in memory: one line, exit code 1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from polystack.testing.tcp_proxy import unused_port

WORKER = "x-polystack-worker"
CHAT = {"model": "scripted/scripted-model", "messages": [{"role": "user", "content": "hi"}]}


def write_config(tmp_path: Path, workers: int = 2, stream_delay: float = 0) -> tuple[str, Path]:
    """A config on SQLite files only (registry, stored completions with the journal): state every worker shares."""
    store = tmp_path / "store"
    config = {
        "distro_name": "workers-test",
        "apis": ["inference"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"stream_delay_seconds": stream_delay,
                                                "replies": [{"content": " ".join(["word"] * 40)}]}}]},
        "storage": {
            "store_dir": str(store),
            "backends": {"kv": {"type": "kv_sqlite", "db_path": str(store / "kv.db")},
                         "sql": {"type": "sql_sqlite", "db_path": str(store / "sql.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}},
        },
        "models": {"refresh_interval_seconds": 0},
        "server": {"workers": workers},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path), store


def fresh_connections() -> httpx.AsyncClient:
    """Every request on a new connection, so the kernel may hand it to either worker."""
    return httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_keepalive_connections=0))


async def worker_pids(http: httpx.AsyncClient, base_url: str, count: int, timeout: float = 60) -> set[str]:
    """Hit the port until `count` different workers answered."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only workers {seen} answered within {timeout}s"
        reply = await http.get(f"{base_url}/v1/health")
        if reply.status_code == 200:
            seen.add(reply.headers[WORKER])
    return seen


async def chat(http: httpx.AsyncClient, base_url: str, *, stream: bool = False,
               model: str = CHAT["model"]) -> tuple[str, str]:
    """One completion; returns (its id, the worker pid that answered). Streams are read to [DONE]."""
    body = {**CHAT, "model": model, "stream": stream}
    if not stream:
        reply = await http.post(f"{base_url}/v1/chat/completions", json=body)
        assert reply.status_code == 200, reply.text
        return reply.json()["id"], reply.headers[WORKER]
    async with http.stream("POST", f"{base_url}/v1/chat/completions", json=body) as reply:
        assert reply.status_code == 200
        ids = set()
        done = False
        async for line in reply.aiter_lines():
            if line == "data: [DONE]":
                done = True
            elif line.startswith("data: "):
                ids.add(orjson.loads(line[6:])["id"])
        assert done and len(ids) == 1, ids
        return ids.pop(), reply.headers[WORKER]


def stored_ids(store: Path) -> set[str]:
    with sqlite3.connect(store / "sql.db") as db:
        return {row[0] for row in db.execute("SELECT id FROM chat_completions")}


def journal_segments(store: Path) -> list[Path]:
    return sorted((store / "journal").glob("*/segment-*.jsonl"))


def stop(process: subprocess.Popen[bytes], sig: signal.Signals, timeout: float = 60) -> int:
    process.send_signal(sig)
    return process.wait(timeout)


async def test_two_workers_share_the_registry_replace_a_killed_worker_and_stop_on_ctrl_c_losing_no_completion(
        server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config, store = write_config(tmp_path, stream_delay=0.05)
    server = server_factory(config)
    async with fresh_connections() as http:
        pids = await worker_pids(http, server.base_url, 2)
        assert str(server.process.pid) not in pids  # the parent only supervises

        registered = await http.post(f"{server.base_url}/v1/models", json={
            "model_id": "team-alias", "provider_id": "scripted", "provider_model_id": "scripted-model"})
        assert registered.status_code == 200, registered.text
        registrar = registered.headers[WORKER]
        served_by: set[str] = set()
        deadline = time.monotonic() + 60
        while served_by <= {registrar}:  # until the other worker served the alias too
            assert time.monotonic() < deadline, f"only worker {served_by} served the alias"
            _, pid = await chat(http, server.base_url, model="team-alias")
            served_by.add(pid)
        print(f"\nalias registered through worker {registrar}, served by workers {sorted(served_by)}")

        acknowledged = dict(await asyncio.gather(*[chat(http, server.base_url, stream=i % 3 == 0)
                                                   for i in range(30)]))
        victim = next(iter(pids))
        os.kill(int(victim), signal.SIGKILL)
        now = await worker_pids(http, server.base_url, 2, timeout=90)  # replaced: two workers again
        assert victim not in now and server.process.poll() is None
        print(f"worker {victim} killed: workers now {sorted(now)}; it had answered "
              f"{sum(pid == victim for pid in acknowledged.values())} of {len(acknowledged)} completions")

        for completion_id in acknowledged:  # every one readable, through either worker
            reply = await http.get(f"{server.base_url}/v1/chat/completions/{completion_id}")
            assert reply.status_code == 200, (completion_id, reply.text)

        seen: list[str] = []  # now Ctrl-C in a terminal, mid-stream: it reaches the parent and both workers
        async with http.stream("POST", f"{server.base_url}/v1/chat/completions", json={**CHAT, "stream": True}) \
                as reply:
            async for line in reply.aiter_lines():
                if not line.startswith("data: "):
                    continue
                seen.append(line[6:])
                if len(seen) == 3:
                    for pid in [server.process.pid, *map(int, now)]:
                        os.kill(pid, signal.SIGINT)
    code = server.process.wait(60)
    log = server.log()
    assert code == 0, log
    assert seen[-1] != "[DONE]" and orjson.loads(seen[-1])["error"]["code"] == "service_unavailable"
    assert "Traceback" not in log, log
    assert set(acknowledged) <= stored_ids(store)
    assert journal_segments(store) == []
    assert "starting another" in log


async def test_sigterm_lets_every_worker_flush_its_stored_completions_and_exits_zero(
        server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config, store = write_config(tmp_path)
    server = server_factory(config)
    async with fresh_connections() as http:
        await worker_pids(http, server.base_url, 2)
        answers = await asyncio.gather(*[chat(http, server.base_url, stream=i % 4 == 0) for i in range(60)])
    acknowledged = dict(answers)
    code = stop(server.process, signal.SIGTERM)  # at once: some records are still in the write queues
    log = server.log()
    assert code == 0, log
    served: dict[str, int] = {}
    for pid in acknowledged.values():
        served[pid] = served.get(pid, 0) + 1
    print(f"\n{len(acknowledged)} completions answered by workers {served}; stopped with exit code {code}")
    assert len(acknowledged) == 60
    missing = set(acknowledged) - stored_ids(store)
    assert not missing, f"{len(missing)} acknowledged completions were not stored:\n{log}"
    assert journal_segments(store) == []  # each worker committed everything and deleted its segments
    assert log.count("stopped") >= 3, log  # two workers and the parent said so
    assert all(f"worker={pid}" in log for pid in served), log  # each worker's lines name it


def test_an_occupied_port_fails_in_one_line_before_any_worker_starts(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "polystack.cli.main", "run", config, "--port", str(port)],
                                capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "300"})
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 1
    assert len(lines) == 1 and str(port) in lines[0] and "in use" in lines[0], lines


def test_a_worker_that_cannot_start_stops_the_server_with_its_error_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
    file = tmp_path / "run.yaml"
    file.write_text(yaml.safe_dump({
        "distro_name": "x", "providers": {"inference": [{"provider_id": "scripted",
                                                          "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"kv": {"type": "kv_postgres", "host": "127.0.0.1", "port": dead_port,
                                        "create_database_if_missing": False}},
                    "stores": {"metadata": {"backend": "kv"}}},
        "server": {"workers": 2}}))
    result = subprocess.run([sys.executable, "-m", "polystack.cli.main", "run", str(file), "--port",
                             str(unused_port())], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "300"})
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 1
    assert len(lines) == 1 and f"127.0.0.1:{dead_port}" in lines[0] and "unavailable" in lines[0], lines


def test_a_config_whose_registry_is_in_memory_is_refused_with_several_workers(tmp_path: Path) -> None:
    file = tmp_path / "run.yaml"
    file.write_text(yaml.safe_dump({
        "distro_name": "x", "providers": {"inference": [{"provider_id": "scripted",
                                                          "provider_type": "inline::scripted"}]}}))
    result = subprocess.run([sys.executable, "-m", "polystack.cli.main", "run", str(file), "--workers", "2",
                             "--port", "1"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "300"})  # port 1: never reached
    assert result.returncode == 1
    assert "storage.stores.metadata is unset" in result.stderr, result.stderr


@pytest.fixture(autouse=True)
def _quiet_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYSTACK_ACCESS_LOG", "false")
