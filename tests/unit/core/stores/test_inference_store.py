"""Stored chat completions end to end in-process: recorded on every path, listed and read back the OpenAI way."""

import asyncio

import openai
import pytest

import polystack
from polystack.apis.datatypes import User
from polystack.apis.errors import NotFoundError
from polystack.apis.inference.types import ChatCompletion
from polystack.core.config import parse_run_config
from polystack.core.request_context import acting_as
from polystack.core.storage.config import SqliteSQLConfig
from polystack.core.storage.sql.api import TableSchema
from polystack.core.storage.sql.factory import open_sql_store
from polystack.core.stores.inference import InferenceStore, _schema


def config(tmp_path, **inference):
    return parse_run_config({
        "distro_name": "stored",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "storage": {
            "backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")},
                         "kv": {"type": "kv_sqlite", "db_path": str(tmp_path / "kv.db")}},
            "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql", **inference}},
        },
        "models": {"refresh_interval_seconds": 0},
    }, env={})


MODEL = "scripted/scripted-model"


def scripted_completion(completion_id: str) -> ChatCompletion:
    return ChatCompletion.model_validate({
        "id": completion_id, "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}]})


async def test_completions_are_stored_and_listed_newest_first(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        ids = []
        for text in ["one", "two", "three"]:
            reply = await stack.openai.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": text}], metadata={"topic": text})
            ids.append(reply.id)
        page = await stack.openai.chat.completions.list(limit=2)
        assert [c.id for c in page.data] == ids[::-1][:2] and page.has_more
        rest = await stack.openai.chat.completions.list(limit=2, after=page.data[-1].id)
        assert [c.id for c in rest.data] == [ids[0]] and not rest.has_more
        assert [c.id for c in (await stack.openai.chat.completions.list(order="asc")).data] == ids
        only_two = await stack.openai.chat.completions.list(metadata={"topic": "two"})
        assert [c.id for c in only_two.data] == [ids[1]]


async def test_stored_completion_has_its_input_messages(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        reply = await stack.openai.chat.completions.create(
            model=MODEL, messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
        stored = (await stack.http.get(f"/v1/chat/completions/{reply.id}")).json()
        assert stored["choices"][0]["message"]["content"] == "hi"
        assert [m["role"] for m in stored["input_messages"]] == ["system", "user"]
        messages = await stack.openai.chat.completions.messages.list(reply.id)
        assert [m.content for m in messages.data] == ["be brief", "hi"]
        assert messages.data[0].id == f"{reply.id}-0"


async def test_streamed_completion_is_stored_whole(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        stream = await stack.openai.chat.completions.create(
            model=MODEL, stream=True, messages=[{"role": "user", "content": "a b c"}])
        chunk_id = [chunk.id async for chunk in stream][0]
        stored = await stack.openai.chat.completions.retrieve(chunk_id)
        assert stored.choices[0].message.content == "a b c"


async def test_store_false_is_honoured(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        reply = await stack.openai.chat.completions.create(
            model=MODEL, store=False, messages=[{"role": "user", "content": "secret"}])
        with pytest.raises(openai.NotFoundError):
            await stack.openai.chat.completions.retrieve(reply.id)


async def test_disabled_store_answers_501_on_reads(tmp_path):
    async with polystack.connect(config(tmp_path, enabled=False)) as stack:
        await stack.openai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
        response = await stack.http.get("/v1/chat/completions")
        assert response.status_code == 501 and "storage.stores.inference" in response.json()["error"]["message"]


async def test_delete_removes_the_record(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        reply = await stack.openai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
        deleted = await stack.openai.chat.completions.delete(reply.id)
        assert deleted.deleted
        assert (await stack.http.get(f"/v1/chat/completions/{reply.id}")).status_code == 404


async def test_unknown_cursor_is_a_clear_400(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        response = await stack.http.get("/v1/chat/completions", params={"after": "chatcmpl-nope"})
        assert response.status_code == 400 and response.json()["error"]["param"] == "after"


async def test_concurrent_clients_lose_no_record_and_restart_keeps_them(tmp_path):
    async with polystack.connect(config(tmp_path, max_write_queue_size=8, num_writers=2)) as stack:
        async def client(n):
            return [(await stack.openai.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": f"{n}-{i}"}])).id for i in range(10)]
        ids = {i for batch in await asyncio.gather(*(client(n) for n in range(32))) for i in batch}
    assert len(ids) == 320
    async with polystack.connect(config(tmp_path)) as stack:
        seen, after = set(), None
        while True:
            page = await stack.openai.chat.completions.list(limit=100, **({"after": after} if after else {}))
            seen |= {c.id for c in page.data}
            if not page.has_more:
                break
            after = page.data[-1].id
        assert seen == ids


async def test_metadata_of_a_stored_completion_is_updated_the_openai_way(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        reply = await stack.openai.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], metadata={"topic": "old"})
        updated = await stack.openai.chat.completions.update(reply.id, metadata={"topic": "new", "by": "me"})
        assert updated.id == reply.id and updated.metadata == {"topic": "new", "by": "me"}
        assert (await stack.openai.chat.completions.retrieve(reply.id)).metadata == {"topic": "new", "by": "me"}
        found = await stack.openai.chat.completions.list(metadata={"topic": "new"})
        assert [c.id for c in found.data] == [reply.id]
        with pytest.raises(openai.NotFoundError):
            await stack.openai.chat.completions.update("chatcmpl-unknown", metadata={"a": "b"})
        too_many = await stack.http.post(f"/v1/chat/completions/{reply.id}",
                                         json={"metadata": {str(n): "v" for n in range(17)}})
        assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "metadata"


async def test_another_users_completion_cannot_be_updated(tmp_path):
    sql = await open_sql_store(SqliteSQLConfig(db_path=str(tmp_path / "db.sqlite")))
    store = InferenceStore(sql)
    await store.start()
    try:
        await store.record(scripted_completion("chatcmpl-alice"), [], {"k": "v"}, User(principal="alice"))
        with acting_as(User(principal="bob")), pytest.raises(NotFoundError):
            await store.update_metadata("chatcmpl-alice", {"k": "bob"})
        with acting_as(User(principal="alice")):
            assert (await store.get("chatcmpl-alice"))["metadata"] == {"k": "v"}
            assert (await store.update_metadata("chatcmpl-alice", None)).get("metadata") is None
    finally:
        await store.close()
        await sql.close()


async def test_list_takes_any_page_size_and_a_bad_one_names_limit(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        for _ in range(3):
            await stack.openai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
        page = await stack.openai.chat.completions.list(limit=1000)
        assert len(page.data) == 3 and not page.has_more
        with pytest.raises(openai.BadRequestError) as raised:
            await stack.openai.chat.completions.list(limit=0)
        assert raised.value.param == "limit"
        assert raised.value.status_code == 400


async def test_a_table_of_the_previous_version_gains_the_upstream_id_column(tmp_path):
    sql = await open_sql_store(SqliteSQLConfig(db_path=str(tmp_path / "db.sqlite")))
    current = _schema("chat_completions")
    previous = TableSchema(current.name, {k: v for k, v in current.columns.items() if k != "upstream_id"},
                           owned=True)

    async def create_previous(store):
        await store.create_table(previous)

    await sql.migrate("inference_store:chat_completions", [create_previous])
    store = InferenceStore(sql)
    await store.start()
    try:
        await store.record(scripted_completion("chatcmpl-mine"), [], None, None, upstream_id="up-1")
        row = await sql.fetch_one("chat_completions", {"id": "chatcmpl-mine"})
        assert row is not None and row["upstream_id"] == "up-1"
    finally:
        await store.close()
        await sql.close()
