"""inline::sqlite-vec against the vector-index contract (in-memory search and vec0 scan), and its durability."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import sqlite_vec
from contract import DIM, STORE, OpenIndex, VectorIndexContract, all_ids, axis, chunk, ids, shut_down_after
from pysqlite3 import dbapi2

from polystack.providers.inline.vector_io.sqlite_vec import create
from polystack.providers.inline.vector_io.sqlite_vec.config import SqliteVecConfig
from polystack.providers.inline.vector_io.sqlite_vec.vec0 import Vec0Embeddings, load_extension
from polystack.providers.utils.vector_index.chunk_store import ChunkStore, StoredStore
from polystack.providers.utils.vector_index.database import Connection, Database
from polystack.providers.utils.vector_index.exact_matrix import ExactMatrix
from polystack.providers.utils.vector_index.sqlite_index import SQLiteVectorIndex


@pytest.fixture(params=[True, False], ids=["in-memory", "vec0-scan"])
async def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenIndex]:
    config = SqliteVecConfig(db_path=str(tmp_path / "vectors.db"), in_memory_index=request.param)
    async with shut_down_after(lambda: create(config, {})) as opener:
        yield opener


class TestSqliteVecContract(VectorIndexContract):
    pass


class CrashingVec0(Vec0Embeddings):
    """Writes the vectors, then fails, as a crash half-way through a transaction would."""

    def insert(self, conn: Connection, store: StoredStore, rows: Sequence[int], vectors: np.ndarray) -> None:
        super().insert(conn, store, rows, vectors)
        raise OSError("disk unplugged")


async def test_a_failed_insert_leaves_the_previous_state(tmp_path: Path) -> None:
    path = str(tmp_path / "vectors.db")
    crashing = SQLiteVectorIndex("sqlite-vec", Database(path, on_connect=load_extension), ChunkStore(CrashingVec0()),
                                 lambda store, rows: ExactMatrix(store.dimension))
    await crashing.open()
    await crashing.create_store(STORE, DIM)
    with pytest.raises(OSError):
        await crashing.add_chunks(STORE, [chunk("a", "zebra")], [axis(0)])
    assert await all_ids(crashing) == set()
    await crashing.shutdown()

    index = await create(SqliteVecConfig(db_path=path), {})
    await index.add_chunks(STORE, [chunk("b", "zebra")], [axis(1)])
    assert await all_ids(index) == {"b"}
    assert ids(await index.query_keyword(STORE, "zebra", 10)) == ["b"]
    await index.shutdown()


class PausingVec0(Vec0Embeddings):
    """Holds every insert inside its transaction until the test lets it go."""

    def __init__(self) -> None:
        self.entered, self.go_on = threading.Event(), threading.Event()

    def insert(self, conn: Connection, store: StoredStore, rows: Sequence[int], vectors: np.ndarray) -> None:
        super().insert(conn, store, rows, vectors)
        self.entered.set()
        self.go_on.wait(5)


async def test_queries_answer_during_a_slow_write_and_see_it_only_once_committed(tmp_path: Path) -> None:
    pausing = PausingVec0()
    index = SQLiteVectorIndex("sqlite-vec", Database(str(tmp_path / "v.db"), on_connect=load_extension),
                              ChunkStore(pausing), lambda store, rows: ExactMatrix(store.dimension))
    await index.open()
    await index.create_store(STORE, DIM)
    pausing.go_on.set()
    await index.add_chunks(STORE, [chunk("old", "zebra")], [axis(0)])
    pausing.go_on.clear()
    write = asyncio.create_task(index.add_chunks(STORE, [chunk("new", "zebra")], [axis(1)]))
    assert await asyncio.to_thread(pausing.entered.wait, 5)
    assert await all_ids(index) == {"old"}
    assert ids(await index.query_keyword(STORE, "zebra", 10)) == ["old"]
    pausing.go_on.set()
    await write
    assert await all_ids(index) == {"old", "new"}
    await index.shutdown()


_WRITER = """
import asyncio, sys
from polystack.apis.vector_io.index import Chunk
from polystack.providers.inline.vector_io.sqlite_vec import create
from polystack.providers.inline.vector_io.sqlite_vec.config import SqliteVecConfig

async def main():
    index = await create(SqliteVecConfig(db_path=sys.argv[1]), {})
    await index.create_store("vs_contract", 8)
    for batch in range(10_000):
        chunks = [Chunk(chunk_id=f"{batch}-{i}", content=f"batch{batch} zebra") for i in range(50)]
        await index.add_chunks("vs_contract", chunks, [[1.0, batch, i, 0, 0, 0, 0, 0] for i in range(50)])
        print(batch, flush=True)

asyncio.run(main())
"""


async def test_a_killed_writer_leaves_only_whole_batches(tmp_path: Path) -> None:
    path = str(tmp_path / "vectors.db")
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, path], stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220 - killed mid-write
    assert writer.stdout is not None
    for _ in range(3):
        writer.stdout.readline()
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    index = await create(SqliteVecConfig(db_path=path), {})
    stored = await all_ids(index)
    batches = {chunk_id.split("-")[0] for chunk_id in stored}
    assert len(batches) >= 3
    assert stored == {f"{batch}-{i}" for batch in batches for i in range(50)}
    assert len(await index.query_keyword(STORE, "zebra", 1000)) == len(stored)
    await index.shutdown()


async def test_the_file_is_a_sqlite_vec_database(tmp_path: Path) -> None:
    path = str(tmp_path / "vectors.db")
    index = await create(SqliteVecConfig(db_path=path), {})
    await index.create_store(STORE, DIM)
    await index.add_chunks(STORE, [chunk(f"c{i}") for i in range(DIM)], [axis(i) for i in range(DIM)])
    await index.shutdown()

    conn = dbapi2.connect(path)
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    query = np.asarray(axis(5), np.float32).tobytes()
    [(chunk_id, distance)] = conn.execute(
        "SELECT c.chunk_id, v.distance FROM vec_1 v JOIN chunks c ON c.row = v.rowid "
        "WHERE v.embedding MATCH ? AND k = 1", (query,)).fetchall()
    conn.close()
    assert (chunk_id, round(distance, 6)) == ("c5", 0.0)

