"""The local journal: records a crashed process acknowledged are replayed once, and only into their store."""

import fcntl
import os

import orjson

from polystack.apis.inference.types import ChatCompletion, UserMessage
from polystack.core.storage.config import SqliteSQLConfig
from polystack.core.storage.sql.factory import open_sql_store
from polystack.core.stores.inference import InferenceStore
from polystack.core.stores.journal import Journal, journal_directory


def completion(n: int) -> ChatCompletion:
    return ChatCompletion.model_validate({
        "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": str(n)}}]})


async def open_store(tmp_path):
    sql = await open_sql_store(SqliteSQLConfig(db_path=str(tmp_path / "db.sqlite")))
    store = InferenceStore(sql, durability="journal", journal=Journal(tmp_path / "journal"))
    await store.start()
    return sql, store


async def test_records_of_a_dead_process_are_replayed_at_start(tmp_path):
    sql, store = await open_store(tmp_path)
    await store.close()
    # a process that died after acknowledging two records, one of which it had also committed
    await sql.insert("chat_completions", [{"id": "chatcmpl-1", "created": 1, "stored_at": 1, "model": "m",
                                          "completion": completion(1).model_dump(mode="json"),
                                          "input_messages": [], "metadata": None}])
    await sql.close()
    segment = tmp_path / "journal" / "segment-999-1.jsonl"
    rows = [{"id": f"chatcmpl-{n}", "created": 1, "stored_at": n, "model": "m",
             "completion": completion(n).model_dump(mode="json"), "input_messages": [{"role": "user", "content": "q"}],
             "metadata": None, "__owner__": None} for n in (1, 2)]
    segment.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows) + b'{"torn')
    sql, store = await open_store(tmp_path)
    try:
        stored = await store.list(after=None, limit=10, model=None, order="asc", metadata={}, owner=None)
        assert [c["id"] for c in stored["data"]] == ["chatcmpl-1", "chatcmpl-2"]
        assert not segment.exists()
    finally:
        await store.close()
        await sql.close()


async def test_a_live_process_segment_is_left_alone(tmp_path):
    directory = tmp_path / "journal"
    directory.mkdir()
    segment = directory / "segment-1-1.jsonl"
    segment.write_bytes(b"")
    fd = os.open(segment, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert list(Journal(directory).orphaned_records()) == []
    finally:
        os.close(fd)


async def test_clean_shutdown_leaves_no_journal(tmp_path):
    sql, store = await open_store(tmp_path)
    for n in range(20):
        await store.record(completion(n), [UserMessage(role="user", content="q")], None, None)
    await store.close()
    await sql.close()
    assert list((tmp_path / "journal").iterdir()) == []


def test_journal_folder_is_specific_to_the_database_and_table(tmp_path):
    a = journal_directory(None, SqliteSQLConfig(db_path=str(tmp_path / "a.db")), "chat_completions")
    b = journal_directory(None, SqliteSQLConfig(db_path=str(tmp_path / "b.db")), "chat_completions")
    assert a != b and a.parent == b.parent == tmp_path
    assert journal_directory("/x/y", SqliteSQLConfig(db_path="z"), "t").as_posix() == "/x/y"
