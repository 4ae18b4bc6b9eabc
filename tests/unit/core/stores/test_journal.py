"""The local journal: records a crashed process acknowledged are replayed once, and only into their store."""

import fcntl
import logging
import os

import orjson

from polystack.apis.inference.types import ChatCompletion, UserMessage
from polystack.core.storage.config import PostgresSQLConfig, SqliteSQLConfig
from polystack.core.storage.sql.factory import open_sql_store
from polystack.core.stores.inference import InferenceStore
from polystack.core.stores.journal import Journal, journal_directory, legacy_journal_directories


def completion(n: int) -> ChatCompletion:
    return ChatCompletion.model_validate({
        "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": str(n)}}]})


async def open_store(tmp_path, **journal):
    sql = await open_sql_store(SqliteSQLConfig(db_path=str(tmp_path / "db.sqlite")))
    store = InferenceStore(sql, durability="journal", journal=Journal(tmp_path / "journal", **journal))
    await store.start()
    return sql, store


def journal_row(n: int, **overrides):
    return {"id": f"chatcmpl-{n}", "created": 1, "stored_at": n, "model": "m",
            "completion": completion(n).model_dump(mode="json"), "input_messages": [{"role": "user", "content": "q"}],
            "metadata": None, "__owner__": None, **overrides}


def quarantined(tmp_path):
    path = tmp_path / "journal" / "quarantine.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def segments(tmp_path):
    return sorted(p.name for p in (tmp_path / "journal").glob("segment-*.jsonl"))


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
        stored = await store.list(after=None, limit=10, model=None, order="asc", metadata={})
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


def test_journal_folder_is_under_the_store_dir_and_specific_to_the_database_and_table(tmp_path):
    store_dir = tmp_path / "store"
    a = journal_directory(None, SqliteSQLConfig(db_path=str(tmp_path / "a.db")), "chat_completions", store_dir)
    b = journal_directory(None, SqliteSQLConfig(db_path=str(tmp_path / "b.db")), "chat_completions", store_dir)
    c = journal_directory(None, PostgresSQLConfig(db="c"), "chat_completions", store_dir)
    d = journal_directory(None, PostgresSQLConfig(db="c"), "other_table", store_dir)
    assert len({a, b, c, d}) == 4 and {a.parent, b.parent, c.parent, d.parent} == {store_dir / "journal"}
    assert journal_directory("/x/y", SqliteSQLConfig(db_path="z"), "t", store_dir).as_posix() == "/x/y"


def test_segments_of_an_earlier_journal_location_are_taken_over(tmp_path):
    backend = SqliteSQLConfig(db_path=str(tmp_path / "a.db"))
    [earlier] = legacy_journal_directories(backend, "chat_completions")
    earlier.mkdir()
    (earlier / "segment-1-1.jsonl").write_bytes(orjson.dumps(journal_row(1)) + b"\n")
    journal = Journal(tmp_path / "new")
    assert journal.adopt_orphans(earlier) == 1
    assert [records for _, records in journal.orphaned_records()] == [[journal_row(1)]]


async def test_a_refused_record_is_quarantined_and_the_journal_keeps_rotating(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    sql, store = await open_store(tmp_path, rotate_bytes=1)
    try:
        first_segment = segments(tmp_path)
        await store.record(completion(1), [], None, None)
        await store.record(completion(1), [], None, None)  # the database refuses a second chatcmpl-1
        for n in range(2, 6):
            await store.record(completion(n), [], None, None)
        await store._queue.barrier()
        assert segments(tmp_path) != first_segment  # rotated: the refused record no longer holds it open
        assert [(q["record"]["id"], "conflict" in q["reason"]) for q in quarantined(tmp_path)] == [
            ("chatcmpl-1", True)]
        stored = await store.list(after=None, limit=10, model=None, order="asc", metadata={})
        assert [c["id"] for c in stored["data"]] == [f"chatcmpl-{n}" for n in range(1, 6)]
    finally:
        await store.close()
        await sql.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "chatcmpl-1" in errors[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


async def test_records_that_cannot_be_replayed_are_quarantined_and_the_rest_replayed(tmp_path):
    (tmp_path / "journal").mkdir()
    segment = tmp_path / "journal" / "segment-999-1.jsonl"
    lines = [orjson.dumps(journal_row(1)), orjson.dumps(journal_row(2, bogus_column=1)),
             b"not json at all", orjson.dumps(journal_row(3, model=None)), orjson.dumps(journal_row(4))]
    segment.write_bytes(b"\n".join(lines) + b'\n{"torn')
    sql, store = await open_store(tmp_path)
    try:
        stored = await store.list(after=None, limit=10, model=None, order="asc", metadata={})
        assert [c["id"] for c in stored["data"]] == ["chatcmpl-1", "chatcmpl-4"]
        kept = quarantined(tmp_path)
        assert [q.get("record", {}).get("id") for q in kept] == [None, "chatcmpl-2", "chatcmpl-3"]
        assert kept[0]["line"] == "not json at all" and all(q["reason"] for q in kept)
        assert not segment.exists()
    finally:
        await store.close()
        await sql.close()


async def test_replay_never_overwrites_a_record_already_stored(tmp_path):
    sql, store = await open_store(tmp_path)
    await store.record(completion(1), [UserMessage(role="user", content="mine")], {"v": "1"}, None)
    await store.close()
    await sql.close()
    segment = tmp_path / "journal" / "segment-999-1.jsonl"
    segment.write_bytes(orjson.dumps(journal_row(1, input_messages=[{"role": "user", "content": "theirs"}])) + b"\n")
    sql, store = await open_store(tmp_path)
    try:
        stored = await store.get("chatcmpl-1")
        assert stored["input_messages"] == [{"role": "user", "content": "mine"}] and stored["metadata"] == {"v": "1"}
    finally:
        await store.close()
        await sql.close()


def test_under_steady_load_full_segments_go_as_soon_as_their_own_records_are_settled(tmp_path):
    journal = Journal(tmp_path / "journal", rotate_bytes=1)
    journal.open()
    first = journal.append(journal_row(1))
    second = journal.append(journal_row(2))  # the first segment is full: a second one starts
    third = journal.append(journal_row(3))
    assert len({first, second, third}) == 3 and len(segments(tmp_path)) == 3
    journal.settled([first])  # records of later segments are still outstanding
    assert len(segments(tmp_path)) == 2
    journal.settled([third, second])
    assert len(segments(tmp_path)) == 1  # the current segment stays until it is full
    journal.close(all_committed=True)
    assert segments(tmp_path) == []


def test_unsettled_segments_stay_for_replay_after_close(tmp_path):
    journal = Journal(tmp_path / "journal", rotate_bytes=1)
    journal.open()
    journal.settled([journal.append(journal_row(1))])
    journal.append(journal_row(2))
    journal.close(all_committed=False)
    replayed = [record["id"] for _, records in Journal(tmp_path / "journal").orphaned_records() for record in records]
    assert replayed == ["chatcmpl-2"]



def test_a_segment_another_worker_replayed_and_deleted_while_we_waited_for_its_lock_is_skipped(tmp_path, monkeypatch):
    """Two workers starting at once: the second opens the orphan, the first replays and deletes it, then the
    second gets the lock. Reading it by its path then failed (FileNotFoundError stopped the worker's start)."""
    directory = tmp_path / "journal"
    directory.mkdir()
    orphan = directory / "segment-1-1.jsonl"
    orphan.write_bytes(orjson.dumps(journal_row(1)) + b"\n")
    real_flock = fcntl.flock

    def replayed_meanwhile(fd, operation):
        orphan.unlink(missing_ok=True)  # the other worker finished with it just before we got the lock
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", replayed_meanwhile)
    assert list(Journal(directory).orphaned_records()) == []
