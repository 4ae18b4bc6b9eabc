"""Accepted data survives restarts and kill -9, replicas share state, and no record is lost under load.

Real `polystack run` processes on SQLite and on the machine's PostgreSQL; the scripted provider keeps
each server start well under a second.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import uuid

import httpx
import pytest
import yaml

from polystack.testing.tcp_proxy import ThreadedTcpProxy

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
CHAT = {"model": "scripted/scripted-model", "messages": [{"role": "user", "content": "remember me"}]}


def storage(kind: str, tmp_path, pg_db: str | None, pg_port: int = 5432) -> dict:
    if kind == "sqlite":
        backends = {"kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")},
                    "sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}}
    else:
        common = {"host": "127.0.0.1", "port": pg_port, "db": pg_db, "user": "postgres"}
        backends = {"kv": {"type": "kv_postgres", **common}, "sql": {"type": "sql_postgres", **common}}
    return {"backends": backends,
            "stores": {"metadata": {"backend": "kv", "namespace": "registry"}, "inference": {"backend": "sql"}}}


def write_config(tmp_path, kind: str, pg_db: str | None = None, pg_port: int = 5432, **scripted) -> str:
    path = tmp_path / f"{kind}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump({
        "version": 2, "distro_name": f"persist-{kind}",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": scripted}]},
        "storage": storage(kind, tmp_path, pg_db, pg_port),
        "models": {"refresh_interval_seconds": 0, "registry_cache_seconds": 1},
    }))
    return str(path)


@pytest.fixture(params=["sqlite", "postgres"])
def backend_config(request, tmp_path, pg_db):
    return write_config(tmp_path, request.param, pg_db if request.param == "postgres" else None)


async def all_completion_ids(client: httpx.AsyncClient) -> set[str]:
    seen, after = set(), None
    while True:
        params = {"limit": 100, **({"after": after} if after else {})}
        page = (await client.get("/v1/chat/completions", params=params)).json()
        seen |= {c["id"] for c in page["data"]}
        if not page["has_more"]:
            return seen
        after = page["last_id"]


async def eventually(read, check, timeout: float = 3.0):
    """Another replica sees writes once they are committed, which happens just behind the response."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()
        if check(value) or asyncio.get_running_loop().time() > deadline:
            assert check(value)
            return value
        await asyncio.sleep(0.05)


async def test_restart_keeps_models_aliases_and_completions(server_factory, backend_config):
    first = server_factory(backend_config)
    async with httpx.AsyncClient(base_url=first.base_url) as client:
        assert (await client.post("/v1/models", json={"model_id": "keeper", "provider_model_id": "scripted-model",
                                                      "metadata": {"team": "a"}})).status_code == 200
        stored = {(await client.post("/v1/chat/completions", json=CHAT)).json()["id"] for _ in range(5)}
    first.stop()
    second = server_factory(backend_config)
    async with httpx.AsyncClient(base_url=second.base_url) as client:
        alias = (await client.get("/v1/models/keeper")).json()
        assert alias["custom_metadata"]["provider_resource_id"] == "scripted-model"
        assert alias["custom_metadata"]["team"] == "a"
        assert (await client.post("/v1/chat/completions", json={**CHAT, "model": "keeper"})).status_code == 200
        assert stored <= await all_completion_ids(client)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_kill_9_mid_writes_loses_nothing_acknowledged(server_factory, tmp_path, pg_db, kind):
    config = write_config(tmp_path, kind, pg_db)
    acknowledged_models: set[str] = set()
    acknowledged_completions: set[str] = set()
    rng = random.Random(7)
    for round_ in range(10):
        server = server_factory(config)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:
            async def writer(n: int, round_: int = round_) -> None:
                for i in range(1000):
                    try:
                        if i % 2:
                            name = f"m-{round_}-{n}-{i}"
                            response = await client.post("/v1/models", json={
                                "model_id": name, "provider_model_id": "scripted-model"})
                            if response.status_code == 200:
                                acknowledged_models.add(name)
                        else:
                            response = await client.post("/v1/chat/completions", json=CHAT)
                            if response.status_code == 200:
                                acknowledged_completions.add(response.json()["id"])
                    except httpx.HTTPError:
                        return  # the server died under us: whatever was not acknowledged may be lost

            writers = [asyncio.create_task(writer(n)) for n in range(4)]
            await asyncio.sleep(rng.uniform(0.2, 0.6))
            os.kill(server.process.pid, signal.SIGKILL)
            await asyncio.gather(*writers)
        server.process.wait()
    final = server_factory(config)
    async with httpx.AsyncClient(base_url=final.base_url, timeout=30) as client:
        models = {m["id"] for m in (await client.get("/v1/models")).json()["data"]}
        assert acknowledged_models <= models, f"lost {len(acknowledged_models - models)} registrations"
        completions = await all_completion_ids(client)
        assert acknowledged_completions <= completions, f"lost {len(acknowledged_completions - completions)}"
    assert len(acknowledged_completions) > 50 and len(acknowledged_models) > 50


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_100_concurrent_callers_each_get_their_own_record_before_and_after_kill_9(
        server_factory, tmp_path, pg_db, kind):
    """The upstream answers every completion with the same id; some messages and metadata hold a NUL."""
    config = write_config(tmp_path, kind, pg_db, completion_id="chatcmpl-always-the-same")

    def text(wave: int, n: int) -> str:
        return f"caller {wave}-{n}" + ("\u0000 after a NUL" if n % 10 == 0 else "")

    async def call(client: httpx.AsyncClient, wave: int, n: int) -> tuple[str, str]:
        response = await client.post("/v1/chat/completions", json={
            **CHAT, "messages": [{"role": "user", "content": text(wave, n)}], "metadata": {"who": text(wave, n)}})
        assert response.status_code == 200, response.text
        return response.json()["id"], text(wave, n)

    async def own_record(client: httpx.AsyncClient, completion_id: str, sent: str) -> None:
        stored = (await client.get(f"/v1/chat/completions/{completion_id}")).json()
        assert stored["id"] == completion_id and stored["metadata"] == {"who": sent}
        assert stored["input_messages"] == [{"role": "user", "content": sent}]
        assert stored["choices"][0]["message"]["content"] == sent  # the scripted provider echoes

    server = server_factory(config)
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as client:
        first = dict(await asyncio.gather(*(call(client, 1, n) for n in range(100))))
        assert len(first) == 100
        await asyncio.gather(*(own_record(client, i, sent) for i, sent in first.items()))
        second = dict(await asyncio.gather(*(call(client, 2, n) for n in range(100))))
    os.kill(server.process.pid, signal.SIGKILL)  # the second wave may be in the journal only
    server.process.wait()
    restarted = server_factory(config)
    async with httpx.AsyncClient(base_url=restarted.base_url, timeout=60, limits=limits) as client:
        everyone = {**first, **second}
        assert len(everyone) == 200
        await asyncio.gather(*(own_record(client, i, sent) for i, sent in everyone.items()))
        assert await all_completion_ids(client) == set(everyone)
    assert "Traceback" not in server.log() + restarted.log()


async def test_two_replicas_share_models_and_completions(server_factory, tmp_path, pg_db):
    config = write_config(tmp_path, "postgres", pg_db)
    a, b = server_factory(config), server_factory(config)
    async with httpx.AsyncClient(base_url=a.base_url) as on_a, httpx.AsyncClient(base_url=b.base_url) as on_b:
        assert (await on_a.post("/v1/models", json={"model_id": "shared-alias",
                                                    "provider_model_id": "scripted-model"})).status_code == 200
        served = await on_b.post("/v1/chat/completions", json={**CHAT, "model": "shared-alias"})
        assert served.status_code == 200 and served.json()["model"] == "shared-alias"
        through_a = {(await on_a.post("/v1/chat/completions", json=CHAT)).json()["id"] for _ in range(3)}
        await eventually(lambda: all_completion_ids(on_b), lambda seen: through_a <= seen)
        assert (await on_b.delete("/v1/models/shared-alias")).status_code == 204
        await asyncio.sleep(1.5)  # registry_cache_seconds: 1
        assert (await on_a.get("/v1/models/shared-alias")).status_code == 404


@pytest.mark.parametrize("clients", [16, 64])
async def test_concurrent_clients_lose_no_stored_completion(server_factory, backend_config, clients):
    server = server_factory(backend_config)
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as client:
        async def one_client() -> list[str]:
            ids = []
            for _ in range(640 // clients):
                response = await client.post("/v1/chat/completions", json=CHAT)
                assert response.status_code == 200
                ids.append(response.json()["id"])
            return ids

        sent = {i for ids in await asyncio.gather(*(one_client() for _ in range(clients))) for i in ids}
        assert len(sent) == 640
        assert sent <= await all_completion_ids(client)


async def test_database_down_at_startup_is_a_clear_error(server_factory, tmp_path):
    config = tmp_path / "down.yaml"
    config.write_text(yaml.safe_dump({
        "distro_name": "down",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"kv": {"type": "kv_postgres", "port": 5999, "password": "hunter2-secret"}},
                    "stores": {"metadata": {"backend": "kv"}}},
    }))
    with pytest.raises(RuntimeError) as raised:
        server_factory(str(config), timeout=30)
    output = str(raised.value)
    assert "kv_postgres at 127.0.0.1:5999/polystack" in output and "hunter2" not in output
    assert "Traceback" not in output


async def test_database_outage_gives_503_then_recovers(server_factory, tmp_path, pg_db):
    proxy = ThreadedTcpProxy(5432)
    proxy.start()
    server = server_factory(write_config(tmp_path, "postgres", pg_db, pg_port=proxy.port))
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        assert (await client.post("/v1/chat/completions", json=CHAT)).status_code == 200
        proxy.stop()
        listing = await client.get("/v1/chat/completions")
        message = listing.json()["error"]["message"]
        # names the backend, never its address (the log has that, for the operator)
        assert listing.status_code == 503 and "sql_postgres" in message and "127.0.0.1" not in message
        registering = await client.post("/v1/models", json={"model_id": "x", "provider_model_id": "scripted-model"})
        assert registering.status_code == 503
        assert (await client.get("/v1/health")).status_code == 200  # the server itself keeps serving
        proxy.start()
        await asyncio.sleep(0.5)
        assert (await client.get("/v1/chat/completions")).status_code == 200
        assert (await client.post("/v1/models", json={"model_id": "x", "provider_model_id": "scripted-model"})
                ).status_code == 200
    proxy.close()


async def test_two_postgres_demo_replicas_serve_one_state(server_factory, pg_db, pgvector_port, tmp_path):
    """The bundled distribution itself, twice, on one fresh database (embedded models in each)."""
    env = {"POSTGRES_DB": pg_db, "PGVECTOR_PORT": str(pgvector_port), "PGVECTOR_DB": pg_db,
           "POLYSTACK_FILES_DIR": str(tmp_path / "files")}
    a, b = server_factory("postgres-demo", env=env), server_factory("postgres-demo", env=env)
    chat = {"messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4}
    async with httpx.AsyncClient(base_url=a.base_url, timeout=60) as on_a, \
            httpx.AsyncClient(base_url=b.base_url, timeout=60) as on_b:
        assert (await on_a.post("/v1/models", json={"model_id": "team-chat", "provider_id": "llama-cpp",
                                                    "provider_model_id": "SmolLM2-135M-Instruct"})).status_code == 200
        served = await on_b.post("/v1/chat/completions", json={**chat, "model": "team-chat"})
        assert served.status_code == 200 and served.json()["model"] == "team-chat"
        stored = (await on_a.post("/v1/chat/completions", json={**chat, "model": "team-chat"})).json()["id"]
        await eventually(lambda: all_completion_ids(on_b), lambda seen: {stored, served.json()["id"]} <= seen)
