"""File ingestion on the job runner across two real `polystack run postgres-demo` replicas.

One replica is killed with SIGKILL mid-way through a batch of files: the other takes over its jobs once their
leases lapse, and every file ends ingested exactly once (its chunks counted in pgvector and in the vector
store's records), none in progress. A cancel sent to one replica stops the job the other one runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import openai

from polystack.providers.utils.documents.chunking import chunk_text

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

CHUNK_TOKENS = 100
STRATEGY = {"type": "static", "static": {"max_chunk_size_tokens": CHUNK_TOKENS, "chunk_overlap_tokens": 0}}


async def wait_ingested(client: openai.AsyncOpenAI, store_id: str, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await client.vector_stores.retrieve(store_id)).file_counts.in_progress:
        assert asyncio.get_running_loop().time() < deadline, "ingestion did not finish"
        await asyncio.sleep(0.2)


def document(n: int, paragraphs: int) -> bytes:
    """About one chunk of text per paragraph, different for each file."""
    return "\n\n".join(
        f"Section {n}.{p}. The keeper of lighthouse {n} logs the weather at hour {p}: wind from the "
        f"{['north', 'south', 'east', 'west'][p % 4]}, sea state {p % 9}, visibility {p % 13} miles. "
        f"The lamp was trimmed, the lens polished and the log signed by keeper number {n * 1000 + p}. "
        f"Passing ships: {p % 5}. Fog signal sounded for {p % 7} minutes. Supplies counted: {p * 3} candles."
        for p in range(paragraphs)).encode()


def expected_chunks(content: bytes) -> int:
    return len(chunk_text(content.decode(), CHUNK_TOKENS, 0))


async def jobs_table(database: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database=database, **PG)
    try:
        rows = await conn.fetch("SELECT id, key, status, attempts, lease_owner, progress FROM polystack_jobs")
    finally:
        await conn.close()
    return [{**row, "progress": json.loads(row["progress"]) if row["progress"] else {}} for row in rows]


async def chunks_per_file(port: int, database: str, store_id: str) -> dict[str, int]:
    conn = await asyncpg.connect(database=database, **{**PG, "port": port})
    try:
        num = await conn.fetchval("SELECT num FROM polystack_vectors_stores WHERE store_id = $1", store_id)
        rows = await conn.fetch(f'SELECT file_id, count(*) AS n FROM "polystack_vectors_chunks_{num}" '
                                "GROUP BY file_id")
    finally:
        await conn.close()
    return {row["file_id"]: row["n"] for row in rows}


async def until(check: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return found


def owned_by(job: dict[str, Any], server: Any) -> bool:
    return bool(job["lease_owner"]) and f":{server.process.pid}:" in job["lease_owner"]


async def test_a_killed_replica_s_files_are_ingested_once_by_the_other_and_cancel_reaches_any_replica(
        server_factory, demo_env):
    a, b = server_factory("postgres-demo", env=demo_env), server_factory("postgres-demo", env=demo_env)
    clients = {server: openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="none", timeout=120)
               for server in (a, b)}
    database, pgvector = demo_env["POSTGRES_DB"], int(demo_env["PGVECTOR_PORT"])

    # a cancel sent to the replica that does not run the job stops it on the one that does
    store = await clients[b].vector_stores.create(name="cancelled")
    big = await clients[b].files.create(file=("big.md", document(99, paragraphs=900)), purpose="assistants")
    batch = await clients[b].vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[big.id],
                                                               chunking_strategy=STRATEGY)
    job = await until(lambda: _running(database, f"{store.id}:{big.id}"), 60, "the big file's job to run")
    runner = a if owned_by(job, a) else b
    other = b if runner is a else a
    assert owned_by(job, runner)
    cancelled = await clients[other].vector_stores.file_batches.cancel(batch_id=batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    stopped = await until(lambda: _job(database, job["id"], lambda j: j["status"] == "cancelled"), 10,
                          "the running replica to stop the job")
    assert stopped["lease_owner"] is None
    file = await clients[runner].vector_stores.files.retrieve(file_id=big.id, vector_store_id=store.id)
    assert file.status == "cancelled"
    await asyncio.sleep(2)  # a batch it was writing when the cancel came is removed, not left behind
    assert (await chunks_per_file(pgvector, database, store.id)).get(big.id, 0) == 0

    # kill -9 one replica mid-way through a batch of files: the other resumes its jobs, once each
    contents = {}
    for n in range(4):
        content = document(n, paragraphs=80)  # small: 2 cores run 4 ingestions at a time here
        uploaded = await clients[a].files.create(file=(f"log-{n}.md", content), purpose="assistants")
        contents[uploaded.id] = content
    store = await clients[a].vector_stores.create(name="resumed")
    await clients[a].vector_stores.file_batches.create(vector_store_id=store.id, file_ids=list(contents),
                                                       chunking_strategy=STRATEGY)
    victim = await until(lambda: _job(database, None, lambda j: owned_by(j, a) and j["status"] == "running"
                                      and j["key"].startswith(store.id)), 120, "replica A to start a file")
    await asyncio.sleep(1)  # reading, chunking, embedding: mid-way
    a.process.kill()
    a.process.wait()
    await wait_ingested(clients[b], store.id, timeout=300)
    files = (await clients[b].vector_stores.files.list(vector_store_id=store.id, limit=100)).data
    assert {f.id: f.status for f in files} == dict.fromkeys(contents, "completed")
    counts = await chunks_per_file(pgvector, database, store.id)
    assert counts == {file_id: expected_chunks(content) for file_id, content in contents.items()}
    for file_id in contents:
        texts = await clients[b].vector_stores.files.content(file_id=file_id, vector_store_id=store.id)
        assert len(texts.data) == counts[file_id]
    jobs = [j for j in await jobs_table(database) if j["key"].startswith(store.id)]
    assert sorted(j["key"] for j in jobs) == sorted(f"{store.id}:{file_id}" for file_id in contents)  # one each
    assert {j["status"] for j in jobs} == {"succeeded"}
    resumed = next(j for j in jobs if j["id"] == victim["id"])
    assert resumed["attempts"] == 2  # started on A, resumed once on B


async def _running(database: str, key: str) -> dict[str, Any] | None:
    return await _job(database, None, lambda j: j["key"] == key and j["status"] == "running")


async def _job(database: str, job_id: str | None, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    for job in await jobs_table(database):
        if (job_id is None or job["id"] == job_id) and matches(job):
            return job
    return None
