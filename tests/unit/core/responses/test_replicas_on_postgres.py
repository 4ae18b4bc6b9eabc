"""Two replicas on one PostgreSQL share their responses: one continues what the other created, neither keeps
anything in memory only; a restart loses nothing written behind a response."""

from __future__ import annotations

import asyncio

import openai
import pytest

import polystack
from polystack.core.config import parse_run_config
from tests.unit.core.responses.conftest import MODEL

PG_HOST, PG_PORT = "127.0.0.1", 5432


def replica(db: str, durability: str):
    return polystack.connect(parse_run_config({
        "distro_name": "responses-postgres", "apis": ["inference", "responses"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {"backends": {"pg": {"type": "sql_postgres", "host": PG_HOST, "port": PG_PORT, "db": db},
                                 "kv": {"type": "kv_memory"}},
                    "stores": {"metadata": {"backend": "kv"},
                               "responses": {"backend": "pg", "durability": durability}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={}))


async def test_a_response_made_on_one_replica_is_continued_on_another(pg_db):
    try:
        first = await replica(pg_db, "commit").start()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    try:
        async with replica(pg_db, "commit") as second:
            made = await first.openai.responses.create(model=MODEL, input="made on the first")
            continued = await second.openai.responses.create(model=MODEL, input="continued on the second",
                                                             previous_response_id=made.id)
            assert (await second.openai.responses.retrieve(made.id)).output_text == "made on the first"
            assert (await first.openai.responses.retrieve(continued.id)).previous_response_id == made.id
            await first.openai.responses.delete(made.id)
            with pytest.raises(openai.NotFoundError):
                await second.openai.responses.retrieve(made.id)
    finally:
        await first.close()


async def test_responses_written_behind_are_all_there_after_a_restart(pg_db):
    try:
        stack = await replica(pg_db, "write_behind").start()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    try:
        made = await asyncio.gather(*(stack.openai.responses.create(model=MODEL, input=f"n{n}") for n in range(20)))
    finally:
        await stack.close()  # drains the write queue
    async with replica(pg_db, "write_behind") as restarted:
        listed = (await restarted.http.get("/v1/responses", params={"limit": 100})).json()
    assert {r["id"] for r in listed["data"]} == {r.id for r in made}
