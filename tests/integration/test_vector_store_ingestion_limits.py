"""The ingestion size limit: the same as the upload limit by default, checked before reading, a clear last_error."""

from __future__ import annotations

import polystack
from polystack.apis.datatypes import Api
from polystack.core.config import parse_run_config
from tests.integration.test_vector_stores import MARKDOWN, config, wait_completed


def limited_config(tmp_path, max_file_bytes: int | None):
    data = config(tmp_path).model_dump(mode="json")
    data["vector_stores"]["max_file_bytes"] = max_file_bytes
    return parse_run_config(data, env={})


async def test_a_file_over_the_ingestion_limit_fails_alone_with_a_clear_last_error(tmp_path):
    async with polystack.connect(limited_config(tmp_path, 2000)) as stack:
        client = stack.openai
        small = await client.files.create(file=("llamas.md", MARKDOWN), purpose="assistants")
        big = await client.files.create(file=("big.txt", b"word " * 1000), purpose="assistants")
        store = await client.vector_stores.create(name="limits")
        await client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[small.id, big.id])
        await wait_completed(client, store.id)
        files = {f.id: f for f in (await client.vector_stores.files.list(store.id)).data}
        assert files[small.id].status == "completed"
        assert files[big.id].status == "failed" and files[big.id].last_error.code == "invalid_file"
        message = files[big.id].last_error.message
        assert "5000 bytes" in message and "2000 bytes" in message and "max_file_bytes" in message
        assert "Traceback" not in message and "Error" not in message


async def test_the_ingestion_limit_is_the_upload_limit_unless_configured(tmp_path):
    async with polystack.connect(limited_config(tmp_path, None)) as stack:
        assert stack.stack.impls[Api.vector_io].ingestor.max_file_bytes == 200_000  # the files provider's limit
