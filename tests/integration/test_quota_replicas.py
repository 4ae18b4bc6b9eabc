"""Two real `polystack run` replicas (postgres-demo-like: shared PostgreSQL, quotas in Redis, scripted model).

- one shared quota: requests sent to both replicas at once; the sum of those admitted is the limit;
- a virtual key made on one replica works on the other, its usage is summed across both, and once revoked
  it is refused by the replica that revoked it at once and by the other within the cache bound (5 s).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

ALICE, ADMIN = "alice-key-replicas-61c0", "admin-key-replicas-9b2f"
CACHE_SECONDS = 5
LIMIT = 10


@pytest.fixture
async def database() -> Any:
    name = f"polystack_quota_{uuid.uuid4().hex[:10]}"
    yield name
    admin = await asyncpg.connect(database="postgres", host="127.0.0.1", port=5432, user="postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def write_config(tmp_path: Path, database: str) -> str:
    postgres = {"host": "127.0.0.1", "port": 5432, "db": database, "user": "postgres"}
    config = {
        "distro_name": "quota-replicas",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {
            "backends": {"kv": {"type": "kv_postgres", **postgres}, "sql": {"type": "sql_postgres", **postgres},
                         "redis": {"type": "kv_redis", "url": "redis://127.0.0.1:6379/0"}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}, "keys": {"backend": "sql"},
                       "audit": {"backend": "sql"}, "quotas": {"backend": "redis", "namespace": database}},
        },
        "models": {"refresh_interval_seconds": 0},
        "server": {
            "auth": {"provider_config": {"type": "api_keys", "keys": [
                {"key": ALICE, "principal": "alice"},
                {"key": ADMIN, "principal": "root", "attributes": {"roles": ["admin"]}}]}},
            "quota": {"rules": [{"principal": "alice", "requests_per_minute": LIMIT}]},
            "keys": {"cache_seconds": CACHE_SECONDS},
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


CHAT = {"model": "scripted/scripted-model", "messages": [{"role": "user", "content": "hi"}]}


async def test_two_replicas_share_one_quota_and_see_a_revoked_key_within_the_bound(
        server_factory, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, database)
    a = server_factory(config)
    b = server_factory(config)
    async with httpx.AsyncClient(timeout=60) as http:
        def call(server: Any, key: str, body: dict[str, Any] = CHAT) -> Any:
            return http.post(f"{server.base_url}/v1/chat/completions", json=body,
                             headers={"Authorization": f"Bearer {key}"})

        answers = await asyncio.gather(*[call(a if i % 2 else b, ALICE) for i in range(3 * LIMIT)])
        statuses = [r.status_code for r in answers]
        admitted = statuses.count(200)
        print(f"\nshared quota {LIMIT}/min over 2 replicas: {admitted} admitted of {len(statuses)}, "
              f"{statuses.count(429)} refused")
        assert admitted == LIMIT and statuses.count(429) == 2 * LIMIT
        assert {r.headers["x-ratelimit-limit-requests"] for r in answers} == {str(LIMIT)}

        created = await http.post(f"{a.base_url}/v1/keys", json={"principal": "bot"},
                                  headers={"Authorization": f"Bearer {ADMIN}"})
        assert created.status_code == 200, created.text
        key = created.json()
        for server in (a, b):  # both replicas now hold the key in their cache
            assert (await call(server, key["value"])).status_code == 200
        usage = (await http.get(f"{b.base_url}/v1/keys/{key['id']}/usage",
                                headers={"Authorization": f"Bearer {ADMIN}"})).json()
        assert usage["requests"] == 2

        revoked = await http.delete(f"{a.base_url}/v1/keys/{key['id']}", headers={"Authorization": f"Bearer {ADMIN}"})
        assert revoked.status_code == 200
        started = time.monotonic()
        assert (await call(a, key["value"])).status_code == 401
        while (await call(b, key["value"])).status_code != 401:
            assert time.monotonic() - started < CACHE_SECONDS + 2, "replica B still accepts the revoked key"
            await asyncio.sleep(0.2)
        print(f"revoked key refused by the other replica after {time.monotonic() - started:.1f} s "
              f"(bound {CACHE_SECONDS} s)")

        # the audit log is one table: replica B lists what was done on replica A
        async def audited() -> list[tuple[str, str, str]]:
            page = await http.get(f"{b.base_url}/v1/audit", params={"resource_type": "api_key"},
                                  headers={"Authorization": f"Bearer {ADMIN}"})
            return [(e["principal"], e["action"], e["resource_id"]) for e in page.json()["data"]]

        deadline = time.monotonic() + 5
        while ("root", "delete", key["id"]) not in await audited():
            assert time.monotonic() < deadline, await audited()
            await asyncio.sleep(0.2)
        assert ("root", "create", key["id"]) in await audited()
