"""The files table on the real PostgreSQL: upload, page, expire and restart with metadata in sql_postgres."""

import asyncio
import time

import openai
import pytest

import polystack
from polystack.core.config import parse_run_config

PG_HOST, PG_PORT = "127.0.0.1", 5432


def config(tmp_path, db):
    return parse_run_config({
        "distro_name": "files-postgres",
        "providers": {"files": [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": {
            "storage_dir": str(tmp_path / "files"), "min_expiry_seconds": 1, "expiry_sweep_interval_seconds": 0.2,
            "metadata_store": {"backend": "pg", "table_name": "uploaded_files"}}}]},
        "storage": {"backends": {"pg": {"type": "sql_postgres", "host": PG_HOST, "port": PG_PORT, "db": db}}},
    }, env={})


async def test_files_metadata_works_on_postgres_across_a_restart(tmp_path, pg_db):
    try:
        stack = await polystack.connect(config(tmp_path, pg_db)).start()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    try:
        ids = [(await stack.openai.files.create(file=(f"{i}.txt", b"x" * (i + 1)), purpose="user_data")).id
               for i in range(3)]
        short = await stack.openai.files.create(file=("s.txt", b"s"), purpose="user_data",
                                                expires_after={"anchor": "created_at", "seconds": 1})
        page = await stack.openai.files.list(limit=2, order="asc")
        assert [f.id for f in page.data] == ids[:2] and page.has_more
        await asyncio.sleep(max(0.0, short.expires_at - time.time()) + 0.3)
        with pytest.raises(openai.NotFoundError):
            await stack.openai.files.retrieve(short.id)
    finally:
        await stack.close()
    async with polystack.connect(config(tmp_path, pg_db)) as stack:
        assert [f.id async for f in stack.openai.files.list(order="asc")] == ids
        assert (await stack.openai.files.content(ids[2])).content == b"xxx"
