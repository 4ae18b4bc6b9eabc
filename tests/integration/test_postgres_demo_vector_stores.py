"""postgres-demo's files and vector stores across two real `polystack run postgres-demo` replicas.

Registry, file metadata and vector store records on the machine's PostgreSQL; vectors on the PostgreSQL 16 +
pgvector that the `pgserver` wheel bundles (Debian's PostgreSQL has no pgvector); the uploaded bytes in
one directory both replicas use, as a shared volume would be.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import openai
import pytest
import yaml

import polystack
from polystack.core.config import parse_run_config
from polystack.testing.tcp_proxy import unused_port

DISTRIBUTION = Path(__file__).resolve().parents[2] / "src/polystack/distributions/postgres-demo/config.yaml"
HANDBOOK = b"# Observatory handbook\n\nThe telescope mirror is polished with cerium oxide every decade.\n"


async def wait_ingested(client: openai.AsyncOpenAI, store_id: str, timeout: float = 120) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await client.vector_stores.retrieve(store_id)).file_counts.in_progress:
        assert asyncio.get_running_loop().time() < deadline, "ingestion did not finish"
        await asyncio.sleep(0.2)


async def test_a_store_made_on_one_replica_is_searchable_on_the_other(server_factory, demo_env):
    a, b = server_factory("postgres-demo", env=demo_env), server_factory("postgres-demo", env=demo_env)
    on_a = openai.AsyncOpenAI(base_url=f"{a.base_url}/v1", api_key="none", timeout=120)
    on_b = openai.AsyncOpenAI(base_url=f"{b.base_url}/v1", api_key="none", timeout=120)
    uploaded = await on_a.files.create(file=("observatory.md", HANDBOOK), purpose="assistants")
    store = await on_a.vector_stores.create(name="team-docs", file_ids=[uploaded.id])
    assert store.metadata["provider_id"] == "pgvector"
    await wait_ingested(on_b, store.id)
    assert (await on_b.vector_stores.files.retrieve(file_id=uploaded.id, vector_store_id=store.id)).status \
        == "completed"
    assert store.id in {s.id for s in (await on_b.vector_stores.list()).data}
    for mode in ("vector", "keyword"):
        hits = await on_b.vector_stores.search(store.id, query="how is the telescope mirror polished",
                                               extra_body={"search_mode": mode})
        assert hits.data and hits.data[0].file_id == uploaded.id and "cerium" in hits.data[0].content[0].text
    assert (await on_b.files.content(uploaded.id)).content == HANDBOOK  # the bytes are shared too
    # and the other way round: a file attached on B is found on A
    more = await on_b.files.create(file=("llamas.md", b"Llamas are sheared once a year, in spring."),
                                   purpose="assistants")
    await on_b.vector_stores.files.create(vector_store_id=store.id, file_id=more.id)
    await wait_ingested(on_a, store.id)
    hits = await on_a.vector_stores.search(store.id, query="when are llamas sheared", extra_body={
        "search_mode": "keyword"})
    assert hits.data[0].file_id == more.id


async def test_postgres_demo_opens_every_backend_it_declares(demo_env):
    """A running postgres-demo has opened each declared storage backend: none is declared for show.
    (The embedded chat model is left out here: it uses no storage and is slow to load.)"""
    raw = yaml.safe_load(DISTRIBUTION.read_text())
    raw["providers"]["inference"] = [p for p in raw["providers"]["inference"] if p["provider_id"] != "llama-cpp"]
    config = parse_run_config(raw, env={**os.environ, **demo_env})
    async with polystack.connect(config) as stack:
        storage = stack.stack.storage
        assert set(storage._kv) | set(storage._sql) == set(config.storage.backends)


def test_postgres_demo_does_not_start_without_its_pgvector(server_factory, demo_env):
    closed = unused_port()
    with pytest.raises(RuntimeError) as raised:
        server_factory("postgres-demo", env={**demo_env, "PGVECTOR_PORT": str(closed)}, timeout=60)
    assert f"127.0.0.1:{closed}" in str(raised.value) and "pgvector" in str(raised.value)
