"""File ingestion as jobs, in-process (SQLite, sqlite-vec, the onnx embedder): adoption, re-runs, cancel."""

from __future__ import annotations

import asyncio

import pytest

import polystack
from polystack.apis.datatypes import Api
from polystack.apis.vector_io.types import VectorStoreFile
from polystack.core.config import parse_run_config
from polystack.core.jobs.records import JobStatus
from polystack.core.vector_stores.ingestion_jobs import job_key

TEXT = b"""# Lighthouse log

The lamp was trimmed at dusk and the lens polished. Wind from the north, sea state four.
""" + b"\n\n".join(b"Entry %d: fog signal sounded for %d minutes, keeper %d on watch." % (n, n % 7, n)
                  for n in range(60))
STRATEGY = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}


@pytest.fixture
async def library(tmp_path):
    sql = {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}
    config = parse_run_config({
        "distro_name": "jobs",
        "apis": ["inference", "files", "vector_io"],
        "providers": {
            "inference": [{"provider_id": "onnx", "provider_type": "inline::onnx"}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp_path / "files"), "metadata_store": {"backend": "sql"}}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(tmp_path / "vec.db")}}],
        },
        "storage": {"backends": {"sql": sql, "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "vector_stores": {"backend": "sql"}}},
        "vector_stores": {"default_embedding_model": "onnx/all-MiniLM-L6-v2"},
        "models": {"refresh_interval_seconds": 0},
    }, env={})
    async with polystack.connect(config) as stack:
        yield stack


async def settled(client, store_id: str, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while (await client.vector_stores.retrieve(store_id)).file_counts.in_progress:
            await asyncio.sleep(0.1)


async def hits_of(client, store_id: str, file_id: str) -> int:
    hits = await client.vector_stores.search(store_id, query="fog signal keeper watch", max_num_results=50,
                                             extra_body={"search_mode": "keyword"})
    return sum(hit.file_id == file_id for hit in hits.data)


async def test_a_file_left_in_progress_without_a_job_gets_exactly_one_even_when_adopted_twice(library):
    client, router = library.openai, library.stack.impls[Api.vector_io]
    store = await client.vector_stores.create(name="adopted")
    uploaded = await client.files.create(file=("log.md", TEXT), purpose="assistants")
    # as a file attached before ingestion ran on jobs: in progress, and no job anywhere
    record = VectorStoreFile(id=uploaded.id, created_at=1, vector_store_id=store.id,
                             chunking_strategy=STRATEGY)
    await router.records.upsert_file(record, None, chunks=[])
    await asyncio.gather(router.ingestion.adopt_orphans(), router.ingestion.adopt_orphans())
    await settled(client, store.id)
    jobs = await library.stack.jobs.records.by_key(job_key(store.id, uploaded.id), active_only=False)
    assert [job.status for job in jobs] == [JobStatus.SUCCEEDED]
    assert (await client.vector_stores.files.retrieve(file_id=uploaded.id, vector_store_id=store.id)).status \
        == "completed"


async def test_re_running_a_file_s_ingestion_replaces_its_chunks_instead_of_adding_more(library):
    client, router = library.openai, library.stack.impls[Api.vector_io]
    uploaded = await client.files.create(file=("log.md", TEXT), purpose="assistants")
    store = await client.vector_stores.create(name="rerun", file_ids=[uploaded.id], chunking_strategy=STRATEGY)
    await settled(client, store.id)
    first = await hits_of(client, store.id, uploaded.id)
    texts = len((await client.vector_stores.files.content(file_id=uploaded.id, vector_store_id=store.id)).data)
    assert first > 0 and texts > 1
    # a resumed job finds the file in progress with the chunks of its earlier attempt still indexed
    record = await router.records.file(store.id, uploaded.id)
    await router.records.upsert_file(record.model_copy(update={"status": "in_progress"}))
    job = await router.ingestion.submit(store.id, uploaded.id, None)
    assert (await library.stack.jobs.wait(job.id, timeout=60)).status == JobStatus.SUCCEEDED
    assert await hits_of(client, store.id, uploaded.id) == first
    assert len((await client.vector_stores.files.content(file_id=uploaded.id, vector_store_id=store.id)).data) \
        == texts


async def test_cancelling_a_batch_cancels_its_jobs_and_leaves_no_chunks(library):
    client = library.openai
    uploaded = await client.files.create(file=("big.md", TEXT * 40), purpose="assistants")
    store = await client.vector_stores.create(name="cancelled")
    batch = await client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[uploaded.id],
                                                           chunking_strategy=STRATEGY)
    cancelled = await client.vector_stores.file_batches.cancel(batch_id=batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    [job] = await library.stack.jobs.records.by_key(job_key(store.id, uploaded.id), active_only=False)
    assert job.status == JobStatus.CANCELLED
    assert (await client.vector_stores.files.retrieve(file_id=uploaded.id, vector_store_id=store.id)).status \
        == "cancelled"
    assert await hits_of(client, store.id, uploaded.id) == 0
    assert (await client.vector_stores.files.content(file_id=uploaded.id, vector_store_id=store.id)).data == []
