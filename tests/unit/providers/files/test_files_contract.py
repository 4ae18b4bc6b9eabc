"""The files contract, end to end in-process with the openai SDK, for inline::localfs and remote::s3 (on moto)."""

import asyncio
import os
import time

import openai
import pytest

import polystack
from polystack.apis.datatypes import Api, User
from polystack.apis.errors import NotFoundError
from polystack.apis.files.types import CreateFileRequest
from polystack.core.request_context import acting_as

MB = 1024 * 1024


async def upload(stack, content=b"hello files", name="notes.txt", purpose="assistants", **kwargs):
    return await stack.openai.files.create(file=(name, content), purpose=purpose, **kwargs)


async def test_uploaded_file_is_retrieved_listed_and_read_back_byte_for_byte(backend):
    async with polystack.connect(backend.config()) as stack:
        created = await upload(stack, b"line one\nline two\n", name="data.jsonl", purpose="fine-tune")
        assert created.id.startswith("file-") and created.object == "file" and created.status == "processed"
        assert (created.bytes, created.filename, created.purpose) == (18, "data.jsonl", "fine-tune")
        assert abs(created.created_at - time.time()) < 5 and created.expires_at is None

        assert await stack.openai.files.retrieve(created.id) == created
        listed = await stack.openai.files.list()
        assert [f.id for f in listed.data] == [created.id] and not listed.has_more
        assert (await stack.openai.files.content(created.id)).content == b"line one\nline two\n"


async def test_a_20_mb_file_round_trips_intact(backend):
    content = os.urandom(20 * MB)
    async with polystack.connect(backend.config()) as stack:
        created = await upload(stack, content, name="big.bin", purpose="user_data")
        assert created.bytes == len(content)
        response = await stack.http.get(f"/v1/files/{created.id}/content")
        assert response.status_code == 200 and response.content == content
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-length"] == str(len(content))


async def test_list_pages_with_after_and_limit_in_both_orders_and_filters_by_purpose(backend):
    async with polystack.connect(backend.config()) as stack:
        ids = [(await upload(stack, f"file {i}".encode(), purpose="batch" if i % 2 else "assistants")).id
               for i in range(5)]
        first = await stack.openai.files.list(limit=2)
        assert [f.id for f in first.data] == ids[::-1][:2] and first.has_more
        assert (first.first_id, first.last_id) == (ids[4], ids[3])
        second = await stack.openai.files.list(limit=2, after=first.data[-1].id)
        assert [f.id for f in second.data] == [ids[2], ids[1]] and second.has_more

        everything = [f.id async for f in stack.openai.files.list(limit=2, order="asc")]  # auto-paginates
        assert everything == ids
        batch = await stack.openai.files.list(purpose="batch")
        assert [f.id for f in batch.data] == [ids[3], ids[1]]


async def test_deleted_file_is_gone_with_its_bytes(backend):
    async with polystack.connect(backend.config()) as stack:
        kept, dropped = await upload(stack, b"keep"), await upload(stack, b"drop")
        assert len(backend.stored_objects()) == 2
        deleted = await stack.openai.files.delete(dropped.id)
        assert (deleted.id, deleted.object, deleted.deleted) == (dropped.id, "file", True)
        with pytest.raises(openai.NotFoundError):
            await stack.openai.files.retrieve(dropped.id)
        assert [f.id for f in (await stack.openai.files.list()).data] == [kept.id]
        assert len(backend.stored_objects()) == 1


async def test_expired_file_is_gone_at_once_and_its_bytes_are_swept(backend):
    async with polystack.connect(backend.config(min_expiry_seconds=1)) as stack:
        kept = await upload(stack, b"forever")
        expiring = await upload(stack, b"short-lived", expires_after={"anchor": "created_at", "seconds": 2})
        assert expiring.expires_at == expiring.created_at + 2
        assert (await stack.openai.files.retrieve(expiring.id)).id == expiring.id

        await asyncio.sleep(max(0.0, expiring.expires_at - time.time()) + 0.05)
        with pytest.raises(openai.NotFoundError):
            await stack.openai.files.retrieve(expiring.id)
        with pytest.raises(openai.NotFoundError):
            await stack.openai.files.content(expiring.id)
        assert [f.id for f in (await stack.openai.files.list()).data] == [kept.id]

        for _ in range(50):  # the sweep runs every 0.2 s in this config
            if len(backend.stored_objects()) == 1:
                break
            await asyncio.sleep(0.1)
        assert len(backend.stored_objects()) == 1


async def test_expiry_below_the_minimum_is_rejected_naming_the_field(backend):
    async with polystack.connect(backend.config()) as stack:
        with pytest.raises(openai.BadRequestError) as caught:
            await upload(stack, expires_after={"anchor": "created_at", "seconds": 60})
        assert caught.value.body["param"] == "expires_after[seconds]"
        assert backend.stored_objects() == []


async def test_batch_files_expire_after_30_days_by_default_like_openai(backend):
    async with polystack.connect(backend.config()) as stack:
        batch = await upload(stack, b'{"custom_id": "1"}\n', name="batch.jsonl", purpose="batch")
        assert batch.expires_at == batch.created_at + 30 * 24 * 3600


async def test_oversized_upload_gets_413_and_leaves_no_partial_file(backend):
    # 7 MB against a 6 MB limit: on S3 a first 5 MB part is already uploaded when the limit is hit
    async with polystack.connect(backend.config(max_upload_bytes=6 * MB)) as stack:
        with pytest.raises(openai.APIStatusError) as caught:
            await upload(stack, b"x" * (7 * MB))
        assert caught.value.status_code == 413 and caught.value.body["param"] == "file"
        assert backend.stored_objects() == []
        assert (await stack.openai.files.list()).data == []
        assert (await upload(stack, b"x" * (6 * MB))).bytes == 6 * MB  # exactly the limit is fine


async def test_empty_file_gets_400_naming_file(backend):
    async with polystack.connect(backend.config()) as stack:
        with pytest.raises(openai.BadRequestError) as caught:
            await upload(stack, b"")
        assert caught.value.body["param"] == "file"
        assert backend.stored_objects() == []


async def test_unknown_purpose_gets_400_naming_purpose(backend):
    async with polystack.connect(backend.config()) as stack:
        with pytest.raises(openai.BadRequestError) as caught:
            await upload(stack, purpose="homework")
        assert caught.value.body["param"] == "purpose" and "user_data" in caught.value.body["message"]


async def test_unknown_id_gets_404_naming_it_on_every_route(backend):
    async with polystack.connect(backend.config()) as stack:
        for call in (stack.openai.files.retrieve, stack.openai.files.content, stack.openai.files.delete):
            with pytest.raises(openai.NotFoundError) as caught:
                await call("file-missing")
            assert "file-missing" in caught.value.body["message"] and caught.value.body["param"] == "file_id"


async def test_files_survive_a_restart(backend):
    async with polystack.connect(backend.config()) as stack:
        created = await upload(stack, b"still here", name="persist.txt")
    async with polystack.connect(backend.config()) as stack:
        assert (await stack.openai.files.retrieve(created.id)).filename == "persist.txt"
        assert (await stack.openai.files.content(created.id)).content == b"still here"


async def test_a_user_sees_only_their_own_files(backend):
    async def content():
        yield b"alice's notes"

    async with polystack.connect(backend.config()) as stack:
        files = stack.stack.impls[Api.files]  # called in-process, as the vector-store ingestion does
        with acting_as(User(principal="alice")):
            mine = await files.create_file(CreateFileRequest(purpose="assistants", filename="a.txt"), content())
            listed = await files.list_files(after=None, limit=10, order="desc", purpose=None)
            assert [f.id for f in listed.data] == [mine.id]
            assert b"".join([chunk async for chunk in await files.open_file_content(mine.id)]) == b"alice's notes"
        with acting_as(User(principal="bob")):
            assert (await files.list_files(after=None, limit=10, order="desc", purpose=None)).data == []
            with pytest.raises(NotFoundError):
                await files.get_file(mine.id)


async def test_upload_is_written_while_it_streams_never_held_whole(backend):
    import tracemalloc

    block = b"z" * MB

    async def content():
        for _ in range(40):
            yield block  # the same object each time: the generator itself allocates nothing

    async with polystack.connect(backend.config()) as stack:
        files = stack.stack.impls[Api.files]
        tracemalloc.start()
        try:
            created = await files.create_file(CreateFileRequest(purpose="user_data", filename="z.bin"), content())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert created.bytes == 40 * MB
        assert peak < 20 * MB  # one S3 part (5 MB here) and its copies at most, not 40 MB
