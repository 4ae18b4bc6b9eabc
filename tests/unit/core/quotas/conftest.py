"""A stack with the scripted provider, auth (alice, bob, an admin) and quotas, served in-process over ASGI."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from polystack.core.config import parse_run_config
from polystack.core.server.app import create_app
from polystack.core.stack import Stack

ALICE, BOB, ADMIN = "alice-key-7c1d2e", "bob-key-5a9f30", "admin-key-88e1b4"
REDIS_URL = "redis://127.0.0.1:6379/0"


def run_config(tmp_path: Path, *, quota: dict[str, Any] | None = None, quota_store: str | None = None,
               auth: bool = True) -> dict[str, Any]:
    backends: dict[str, Any] = {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}}
    stores: dict[str, Any] = {"keys": {"backend": "sql"}, "audit": {"backend": "sql"},
                              "inference": {"backend": "sql", "durability": "commit"}}
    if quota_store == "redis":
        backends["redis"] = {"type": "kv_redis", "url": REDIS_URL}
        stores["quotas"] = {"backend": "redis", "namespace": f"test-{uuid.uuid4().hex}"}
    elif quota_store == "sql":
        stores["quotas"] = {"backend": "sql"}
    server: dict[str, Any] = {}
    if auth:
        server["auth"] = {"provider_config": {"type": "api_keys", "keys": [
            {"key": ALICE, "principal": "alice", "attributes": {"teams": ["blue"]}},
            {"key": BOB, "principal": "bob", "attributes": {"teams": ["red"]}},
            {"key": ADMIN, "principal": "root", "attributes": {"roles": ["admin"]}},
        ]}}
    if quota is not None:
        server["quota"] = quota
    return {
        "distro_name": "quotas-test",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"store_dir": str(tmp_path / "store"), "backends": backends, "stores": stores},
        "models": {"refresh_interval_seconds": 0},
        "server": server,
    }


@asynccontextmanager
async def serving(raw: dict[str, Any]) -> AsyncIterator[Callable[[str | None], httpx.AsyncClient]]:
    stack = Stack(parse_run_config(raw))
    await stack.start()
    app = create_app(stack, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    clients: list[httpx.AsyncClient] = []

    def client(key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        made = httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers, timeout=30)
        clients.append(made)
        return made

    client.stack = stack  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        for made in clients:
            await made.aclose()
        await stack.stop()


def chat(stream: bool = False, model: str = "scripted/scripted-model") -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream"] = True
    return body


@pytest.fixture(params=["sql", "redis"])
def quota_store(request: pytest.FixtureRequest) -> str:
    return str(request.param)
