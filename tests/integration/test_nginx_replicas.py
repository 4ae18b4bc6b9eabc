"""Two `polystack run` replicas (postgres-demo's layout: registry and stored completions on one PostgreSQL,
quotas in Redis; a scripted model instead of the embedded one) behind a real nginx, as docs/deployment.md
configures it.

A bounded load (200 chat completions, 6 at a time, every fourth streamed) runs through nginx while one
replica is killed with SIGKILL and started again on its port. Every request the caller saw acknowledged
(a 200 body, or a stream that reached `[DONE]`) has its completion stored afterwards; every stream the
surviving replica served finished; the requests that failed are at most those in flight on the killed
replica (a POST already sent is not retried elsewhere: see the docs on `proxy_next_upstream`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
import yaml

from polystack.testing.child_process import ChildProcess
from polystack.testing.tcp_proxy import unused_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
TEMPLATE = ROOT / "docs" / "nginx.conf"
REQUESTS, CONCURRENCY, KILL_AT, AFTER_RESTART = 200, 6, 50, 170
PROMPT = "tell the keeper of the lighthouse that the fog rolls in at dusk"  # echoed: ~13 streamed chunks

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/ensure-services installs "
                                "Debian's nginx-light; apt-get install nginx-light)")


def write_config(tmp_path: Path, database: str) -> str:
    postgres = {"host": "127.0.0.1", "port": 5432, "db": database, "user": "postgres"}
    config = {
        "distro_name": "nginx-replicas",
        "apis": ["inference"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"stream_delay_seconds": 0.03}}]},
        "storage": {
            "store_dir": str(tmp_path / "store"),  # both replicas on this machine: one journal folder
            "backends": {"kv": {"type": "kv_postgres", **postgres}, "sql": {"type": "sql_postgres", **postgres},
                         "redis": {"type": "kv_redis", "url": "redis://127.0.0.1:6379/0"}},
            "stores": {"metadata": {"backend": "kv", "namespace": "registry"},
                       "inference": {"backend": "sql", "table_name": "chat_completions"},
                       "quotas": {"backend": "redis", "namespace": database}},
        },
        "models": {"refresh_interval_seconds": 0},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


class Replica(ChildProcess):
    def __init__(self, config: str, port: int, log_dir: Path, generation: int) -> None:
        self.port = port
        super().__init__(f"replica-{port}", [sys.executable, "-m", "polystack.cli.main", "run", config,
                                             "--port", str(port)],
                         ready_url=f"http://127.0.0.1:{port}/v1/health",
                         log_path=log_dir / f"replica-{port}-{generation}.log",
                         env={**os.environ, "POLYSTACK_ACCESS_LOG": "false"}, cwd=ROOT)


class Nginx(ChildProcess):
    """nginx in the foreground (`daemon off`) on a temporary prefix, with the documented template."""

    def __init__(self, tmp_path: Path, upstreams: list[int]) -> None:
        self.port = unused_port()
        prefix = tmp_path / "nginx"
        (prefix / "logs").mkdir(parents=True)
        servers = "\n        ".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;" for port in upstreams)
        text = TEMPLATE.read_text().replace("{{UPSTREAM_SERVERS}}", servers).replace("{{LISTEN}}",
                                                                                   f"127.0.0.1:{self.port}")
        # for the test only: temporary files under the prefix, and which replica answered each request
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp = "".join(f"    {kind}_temp_path {kind};\n" for kind in kinds)
        text = text.replace("http {\n", "http {\n" + temp, 1).replace(
            "location / {\n", "location / {\n            add_header X-Polystack-Upstream $upstream_addr always;\n", 1)
        conf = prefix / "nginx.conf"
        conf.write_text(f"daemon off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log warn;\n{text}")
        # -e: the error log before the config is read (the default, /var/log/nginx, needs root)
        command = [NGINX, "-p", str(prefix), "-e", str(prefix / "logs" / "error.log"), "-c", str(conf)]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)  # type: ignore[list-item]
        assert check.returncode == 0, check.stderr
        super().__init__("nginx", command,  # type: ignore[arg-type]
                         ready_url=f"http://127.0.0.1:{self.port}/v1/health", log_path=prefix / "logs" / "out.log",
                         stop_signal=signal.SIGQUIT)  # graceful


@dataclass
class Outcome:
    status: int  # HTTP status, or 0 when the connection failed
    stream: bool
    upstream: str = ""
    completion_id: str | None = None  # set when acknowledged: a 200 body, or a stream that reached [DONE]
    error: str = ""


async def one_request(http: httpx.AsyncClient, url: str, stream: bool) -> Outcome:
    body = {"model": "scripted/scripted-model", "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
    outcome = Outcome(0, stream)
    try:
        if not stream:
            reply = await http.post(url, json=body)
            outcome.status, outcome.upstream = reply.status_code, reply.headers.get("x-polystack-upstream", "")
            if reply.status_code == 200:
                outcome.completion_id = reply.json()["id"]
            else:
                outcome.error = reply.text[:200]
            return outcome
        async with http.stream("POST", url, json=body) as reply:
            outcome.status, outcome.upstream = reply.status_code, reply.headers.get("x-polystack-upstream", "")
            if reply.status_code != 200:
                outcome.error = (await reply.aread()).decode(errors="replace")[:200]
                return outcome
            ids: set[str] = set()
            async for line in reply.aiter_lines():
                if line == "data: [DONE]":
                    outcome.completion_id = ids.pop() if len(ids) == 1 else None
                elif line.startswith("data: "):
                    ids.add(orjson.loads(line[6:]).get("id", ""))
            if outcome.completion_id is None:
                outcome.error = "stream ended without [DONE]"
            return outcome
    except httpx.HTTPError as exc:  # a stream cut after its 200 keeps its status and upstream
        outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome


async def stored(database: str, ids: list[str]) -> set[str]:
    conn = await asyncpg.connect(database=database, host="127.0.0.1", port=5432, user="postgres")
    try:
        rows = await conn.fetch("SELECT id FROM chat_completions WHERE id = ANY($1::text[])", ids)
    finally:
        await conn.close()
    return {row["id"] for row in rows}


async def test_load_through_nginx_loses_no_acknowledged_completion_while_a_replica_is_killed_and_restarted(
        pg_db: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, pg_db)
    logs = tmp_path / "logs"
    logs.mkdir()
    ports = [unused_port(), unused_port()]
    replicas = [Replica(config, ports[0], logs, 0).wait_ready(120)]  # the first creates the database
    replicas.append(Replica(config, ports[1], logs, 0).wait_ready(120))
    proxy = Nginx(tmp_path, ports).wait_ready(30)
    victim = replicas[0]
    restarted: Replica | None = None
    outcomes: list[Outcome] = []
    try:
        url = f"http://127.0.0.1:{proxy.port}/v1/chat/completions"
        started = time.monotonic()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(REQUESTS):
            queue.put_nowait(n)
        killed, back = asyncio.Event(), asyncio.Event()
        served_after_back: list[Outcome] = []

        async def client() -> None:
            async with httpx.AsyncClient(timeout=60) as http:
                while not queue.empty():
                    n = queue.get_nowait()
                    if n >= AFTER_RESTART:  # the last requests wait for the killed replica to be back
                        await back.wait()
                    outcome = await one_request(http, url, stream=n % 4 == 0)
                    outcomes.append(outcome)
                    if back.is_set():
                        served_after_back.append(outcome)
                    if len(outcomes) >= KILL_AT:
                        killed.set()

        async def chaos() -> Replica:
            await killed.wait()
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(10)
            kill_index = len(outcomes)
            await asyncio.sleep(1)  # nginx finds the port refused meanwhile, and sends those requests to the other
            again = Replica(config, victim.port, logs, 1)
            await asyncio.to_thread(again.wait_ready, 120)
            back.set()
            print(f"\nkilled replica :{victim.port} after {kill_index} answers; it was back after "
                  f"{len(outcomes)} answers")
            return again

        restart = asyncio.create_task(chaos())
        await asyncio.gather(*[client() for _ in range(CONCURRENCY)])
        restarted = await restart
        elapsed = time.monotonic() - started
        # nginx avoids a failed upstream for fail_timeout: when the replica came back late in the load, the
        # last requests may all have gone to the survivor. A few more show it back in rotation (bounded).
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=60) as http:
            while time.monotonic() < deadline and f"127.0.0.1:{ports[0]}" not in {
                    o.upstream for o in served_after_back if o.completion_id}:
                served_after_back.append(await one_request(http, url, stream=False))
                await asyncio.sleep(0.2)
        for replica in (restarted, replicas[1]):  # graceful: each flushes its write queue
            replica.process.send_signal(signal.SIGTERM)
            assert replica.process.wait(60) == 0, replica.log()

        acknowledged = [o.completion_id for o in outcomes if o.completion_id]
        failed = [o for o in outcomes if not o.completion_id]
        statuses = Counter(o.status for o in outcomes)
        print(f"{REQUESTS} requests in {elapsed:.1f}s through nginx: {len(acknowledged)} acknowledged, "
              f"{len(failed)} failed {dict(Counter((o.status, o.error[:40]) for o in failed))}; statuses "
              f"{dict(statuses)}; by upstream {dict(Counter(o.upstream for o in outcomes))}")
        assert len(outcomes) == REQUESTS
        assert len(failed) <= CONCURRENCY, [(o.status, o.error) for o in failed]  # only those in flight there
        survivor, killed_one = f"127.0.0.1:{ports[1]}", f"127.0.0.1:{ports[0]}"
        assert all(o.completion_id for o in outcomes if o.upstream == survivor)  # its streams all finished
        assert all(o.upstream in ("", killed_one) for o in failed), [(o.upstream, o.error) for o in failed]
        assert killed_one in {o.upstream for o in served_after_back if o.completion_id}  # back in rotation
        retried = [o for o in outcomes if o.upstream == f"{killed_one}, {survivor}"]
        replayed = [line for line in restarted.log().splitlines() if "replayed" in line]
        print(f"restarted replica: {replayed or 'no journal segment to replay (all had been committed)'}")
        print(f"{len(retried)} requests refused by the killed replica's port were sent on to the survivor, "
              f"{sum(bool(o.completion_id) for o in retried)} of them acknowledged")
        missing = set(acknowledged) - await stored(pg_db, acknowledged)
        assert not missing, f"{len(missing)} acknowledged completions are not stored"
    finally:
        proxy.stop()
        for replica in [*replicas, *([restarted] if restarted else [])]:
            replica.stop()

