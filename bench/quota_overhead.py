"""Time each request gains from API-key auth and from a quota check, against auth off, in one run.

In-process and pure ASGI around a trivial app (no network, no server), like middleware_overhead.py:
- auth off: the request-context middleware without auth;
- config key: `server.auth` api_keys, the key found among the config's keys;
- virtual key (cached): a key made through the key store (SQLite), found in the replica's lookup cache;
- quota check, SQLite / Redis: config key auth plus Llama Stack's per-period request limit (one moving
  window hit per request: a SUM and an INSERT in SQLite, called synchronously, a Lua script in Redis at 127.0.0.1:6379).
CPU (process time) and wall time per request are reported; Redis' own CPU is not in the CPU figure.

Run: PYTHONPATH=src .venv/bin/python bench/quota_overhead.py [--json bench/results/quota_overhead.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from polystack.core.access.config import ApiKey, ApiKeysAuthConfig, AuthConfig
from polystack.core.keys.store import KeyStore
from polystack.core.quotas.config import QuotaConfig
from polystack.core.quotas.counters import RedisCounter, SQLiteCounter
from polystack.core.quotas.enforcer import QuotaEnforcer
from polystack.core.quotas.middleware import QuotaMiddleware
from polystack.core.server.middleware import RequestContextMiddleware
from polystack.core.storage.config import SqliteSQLConfig
from polystack.core.storage.sql.factory import open_sql_store

KEY = "bench-key-0f3a9c71"
BODY = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'


def scope(token: str | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"type": "http", "method": "POST", "path": "/v1/chat/completions", "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 5000)}


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


class Statuses:
    def __init__(self) -> None:
        self.bad = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            self.bad += 1


async def per_request(stack: Any, token: str | None, requests: int) -> tuple[float, float]:
    send = Statuses()
    for _ in range(min(200, requests)):
        await stack(scope(token), receive, send)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        await stack(scope(token), receive, send)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if send.bad:
        raise RuntimeError(f"{send.bad} requests were refused: the bench measures admitted requests")
    return cpu / requests * 1e6, wall / requests * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    auth = AuthConfig(provider_config=ApiKeysAuthConfig(keys=[ApiKey(key=SecretStr(KEY), principal="bench")]))
    folder = Path(tempfile.mkdtemp(prefix="quota-bench-"))
    sql = await open_sql_store(SqliteSQLConfig(db_path=str(folder / "admin.db")))
    keys = KeyStore(sql, cache_seconds=300)
    await keys.migrate()
    _, virtual = await keys.create(principal="bot", attributes={}, name=None, expires_at=None, allowed_models=None,
                                   quota=None, budget_tokens=None, created_by="bench")
    quota = QuotaConfig(authenticated_max_requests=10_000_000, period="day")
    sqlite = QuotaEnforcer(quota, SQLiteCounter(str(folder / "quotas.db")))
    redis = RedisCounter("redis://127.0.0.1:6379/0", prefix=f"bench-{uuid.uuid4().hex}")
    on_redis = QuotaEnforcer(quota, redis)

    def with_auth(inner: Any) -> Any:
        return RequestContextMiddleware(inner, auth=auth, virtual_keys=keys.authenticate)

    cases: list[tuple[str, Any, str | None, int]] = [
        ("auth off", RequestContextMiddleware(app, auth=None), None, 20000),
        ("config key", with_auth(app), KEY, 20000),
        ("virtual key (cached)", with_auth(app), virtual, 20000),
        ("quota check, SQLite", with_auth(QuotaMiddleware(app, lambda: sqlite)), KEY, 2000),
        ("quota check, Redis", with_auth(QuotaMiddleware(app, lambda: on_redis)), KEY, 2000),
    ]
    results: dict[str, dict[str, float]] = {}
    base_cpu = base_wall = 0.0
    for name, stack, token, requests in cases:
        cpu, wall = await per_request(stack, token, requests)
        if name == "auth off":
            base_cpu, base_wall = cpu, wall
        results[name] = {"cpu_us": round(cpu, 1), "wall_us": round(wall, 1),
                         "added_cpu_us": round(cpu - base_cpu, 1), "added_wall_us": round(wall - base_wall, 1)}
        print(f"{name:22s} cpu {cpu:8.1f} us (+{cpu - base_cpu:7.1f})   wall {wall:8.1f} us (+{wall - base_wall:7.1f})")
    await redis.reset()
    await sqlite.counter.close()
    await sql.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
