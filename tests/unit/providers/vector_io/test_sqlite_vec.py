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

from polystack.apis.errors import NotFoundError
from polystack.apis.vector_io.index import ComparisonFilter, Filter, VectorIndex
from polystack.providers.inline.vector_io.sqlite_vec import create
from polystack.providers.inline.vector_io.sqlite_vec.config import SqliteVecConfig
from polystack.providers.inline.vector_io.sqlite_vec.vec0 import Vec0Embeddings, load_extension
from polystack.providers.utils.vector_index.chunk_store import ChunkStore, StoredStore
from polystack.providers.utils.vector_index.database import Connection, Database
from polystack.providers.utils.vector_index.exact_matrix import ExactMatrix
from polystack.providers.utils.vector_index.hnsw_searcher import HnswSearcher
from polystack.providers.utils.vector_index.sqlite_index import SQLiteVectorIndex


@pytest.fixture(params=["in-memory", "vec0-scan", "hnsw"])
async def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenIndex]:
    # hnsw: every store has a graph from its first chunk (stores this small are still answered exactly).
    config = SqliteVecConfig(db_path=str(tmp_path / "vectors.db"), in_memory_index=request.param != "vec0-scan",
                             ann_threshold=1 if request.param == "hnsw" else None)
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
from polystack.apis.errors import NotFoundError
from polystack.apis.vector_io.index import ComparisonFilter, Filter, VectorIndex
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



def _clustered(count: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, dim))
    vectors = centres[rng.integers(0, 12, count)] + 0.5 * rng.standard_normal((count, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


async def _fill_files(index: VectorIndex, vectors: np.ndarray) -> None:
    """Chunks c0..cN in files of 10 (f0, f1, ...), attribute `bucket` = file number mod 5."""
    await index.create_store(STORE, vectors.shape[1])
    for start in range(0, len(vectors), 100):
        part = range(start, min(start + 100, len(vectors)))
        await index.add_chunks(STORE, [chunk(f"c{i}", file_id=f"f{i // 10}", bucket=(i // 10) % 5) for i in part],
                               vectors[start:part.stop].tolist())


def _graph_files(path: Path) -> list[Path]:
    return sorted(Path(f"{path}.hnsw").glob("*.usearch"))


async def _answers(index: VectorIndex, queries: np.ndarray, filters: Filter | None = None) -> list[list[str]]:
    return [ids(await index.query_vector(STORE, query.tolist(), 10, filters)) for query in queries]


def _overlap(got: list[list[str]], want: list[list[str]]) -> float:
    return sum(len(set(a) & set(b)) for a, b in zip(got, want, strict=True)) / sum(len(b) for b in want)


async def test_a_store_past_the_ann_threshold_gets_a_graph_that_agrees_with_exact_search(tmp_path: Path) -> None:
    path = tmp_path / "vectors.db"
    vectors, queries = _clustered(600), _clustered(30, seed=1)
    hnsw = await create(SqliteVecConfig(db_path=str(path), ann_threshold=300), {})
    exact = await create(SqliteVecConfig(db_path=str(path), ann_threshold=None), {})  # same file, second instance
    try:
        await hnsw.create_store(STORE, 16)
        await hnsw.add_chunks(STORE, [chunk(f"c{i}", file_id=f"f{i // 10}", bucket=(i // 10) % 5) for i in range(200)],
                              vectors[:200].tolist())
        assert _graph_files(path) == []  # below the threshold: exact, no graph
        await hnsw.add_chunks(STORE, [chunk(f"c{i}", file_id=f"f{i // 10}", bucket=(i // 10) % 5)
                                      for i in range(200, 600)], vectors[200:].tolist())
        assert len(_graph_files(path)) == 1
        want = await _answers(exact, queries)
        assert _overlap(await _answers(hnsw, queries), want) >= 0.95
        selective = ComparisonFilter(type="eq", key="bucket", value=2)  # 20%: exact over the passing rows
        assert await _answers(hnsw, queries, selective) == await _answers(exact, queries, selective)
        broad = ComparisonFilter(type="ne", key="bucket", value=2)
        got = await _answers(hnsw, queries, broad)
        assert all(int(chunk_id[1:]) // 10 % 5 != 2 for answer in got for chunk_id in answer)
        assert _overlap(got, await _answers(exact, queries, broad)) >= 0.95
        # A deleted file is gone from the very next answer, through the graph and through the other instance.
        nearest_files = {f"f{int(answer[0][1:]) // 10}" for answer in want}
        for file_id in nearest_files:
            await exact.delete_chunks(STORE, file_id=file_id)
        for answer in await _answers(hnsw, queries):
            assert len(answer) == 10 and not {f"f{int(c[1:]) // 10}" for c in answer} & nearest_files
    finally:
        await hnsw.shutdown()
        await exact.shutdown()


async def test_the_graph_survives_a_restart_and_is_rebuilt_when_its_file_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "vectors.db"
    config = SqliteVecConfig(db_path=str(path), ann_threshold=100)
    vectors, queries = _clustered(400), _clustered(20, seed=2)
    index = await create(config, {})
    await _fill_files(index, vectors)
    before = await _answers(index, queries)
    await index.shutdown()

    reopened = await create(config, {})
    assert _searcher(reopened).graph_source == "restored"
    assert await _answers(reopened, queries) == before
    await reopened.add_chunks(STORE, [chunk("late")], [vectors[0].tolist()])  # written after the last save...
    await reopened.delete_chunks(STORE, file_id="f1")
    after = await _answers(reopened, queries)
    graph = _graph_files(path)[0]
    saved = graph.read_bytes()
    await reopened.shutdown()

    graph.write_bytes(saved)  # ...as if it had crashed: the graph file lacks them
    caught_up = await create(config, {})
    assert _searcher(caught_up).graph_source == "restored"
    assert await _answers(caught_up, queries) == after
    await caught_up.shutdown()

    for file in _graph_files(path):
        file.unlink()
    rebuilt = await create(config, {})
    assert _searcher(rebuilt).graph_source == "built" and len(_graph_files(path)) == 1
    assert _overlap(await _answers(rebuilt, queries), after) >= 0.95
    await rebuilt.delete_store(STORE)
    assert _graph_files(path) == []
    await rebuilt.shutdown()


async def test_two_instances_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "vectors.db")
    first = await create(SqliteVecConfig(db_path=path, ann_threshold=50), {})
    second = await create(SqliteVecConfig(db_path=path, ann_threshold=50), {})
    try:
        await first.create_store(STORE, 16)
        vectors = _clustered(120)
        await second.add_chunks(STORE, [chunk(f"c{i}", f"text {i}", file_id=f"f{i // 10}") for i in range(120)],
                                vectors.tolist())
        assert len(await _all_of(first)) == 120  # created by one, filled by the other
        assert ids(await first.query_vector(STORE, vectors[7].tolist(), 1)) == ["c7"]
        await first.delete_chunks(STORE, file_id="f0")
        assert not {f"c{i}" for i in range(10)} & await _all_of(second)
        await second.update_attributes(STORE, "f1", {"tag": "x"})
        tagged = ComparisonFilter(type="eq", key="tag", value="x")
        assert await _all_of(first, tagged) == {f"c{i}" for i in range(10, 20)}
        assert ids(await first.query_keyword(STORE, "115", 5)) == ["c115"]
        await second.delete_store(STORE)
        with pytest.raises(NotFoundError):
            await first.query_vector(STORE, vectors[0].tolist(), 1)
        await first.create_store(STORE, 16)  # created again: empty in both
        assert await _all_of(second) == set()
    finally:
        await first.shutdown()
        await second.shutdown()


async def _all_of(index: VectorIndex, filters: Filter | None = None) -> set[str]:
    return set(ids(await index.query_vector(STORE, [1.0] * 16, 1000, filters)))


def _searcher(index: VectorIndex) -> HnswSearcher:
    searcher = index._stores[STORE].searcher  # type: ignore[attr-defined]
    assert isinstance(searcher, HnswSearcher)
    return searcher
