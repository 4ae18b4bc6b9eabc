"""The behaviour every vector-io provider (VectorIndex) must show; a provider's test module runs it by subclassing.

A provider's module provides `open_index`: a fixture returning an async function that opens the
provider on the same storage at every call (the reopen test calls it twice) and shuts everything
down at teardown (`shut_down_after` does the keeping and shutting down). `vector_index` is the
first index it opens. Then:

    class TestMyProviderContract(VectorIndexContract):
        pass
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError
from polystack.apis.vector_io.filters import matches
from polystack.apis.vector_io.index import Chunk, ComparisonFilter, CompoundFilter, Filter, VectorIndex

OpenIndex = Callable[[], Awaitable[VectorIndex]]
DIM = 8
STORE = "vs_contract"
ALL = 1000  # a k above every store's size in these tests


def unit(*values: float) -> list[float]:
    """A DIM-long unit vector starting with `values`."""
    padded = [*values, *([0.0] * (DIM - len(values)))]
    norm = math.sqrt(sum(value * value for value in padded))
    return [value / norm for value in padded]


def axis(i: int) -> list[float]:
    return unit(*([0.0] * i), 1.0)


def chunk(chunk_id: str, content: str = "", file_id: str | None = None, **attributes: Any) -> Chunk:
    return Chunk(chunk_id=chunk_id, content=content or f"text of {chunk_id}", file_id=file_id, attributes=attributes)


def ids(results: list[Any]) -> list[str]:
    return [result.chunk.chunk_id for result in results]


async def all_ids(index: VectorIndex, store: str = STORE, filters: Filter | None = None) -> set[str]:
    return set(ids(await index.query_vector(store, axis(0), ALL, filters)))


@asynccontextmanager
async def shut_down_after(open_one: OpenIndex) -> AsyncIterator[OpenIndex]:
    """`open_one`, keeping what it opens to shut it all down on leaving: the body of an `open_index` fixture."""
    opened: list[VectorIndex] = []

    async def open_and_keep() -> VectorIndex:
        opened.append(await open_one())
        return opened[-1]

    try:
        yield open_and_keep
    finally:
        for index in opened:
            await index.shutdown()


async def check_a_lost_keyword_index_is_rebuilt(open_one: OpenIndex, folder: Path) -> None:
    """For the engine providers: their keyword index (keywords.db in `folder`), deleted while they are shut
    down, comes back from the engine's own copy of the chunks when they open again."""
    index = await open_one()
    await index.create_store(STORE, DIM)
    await index.add_chunks(STORE, [chunk("a", "zebra crossing"), chunk("b", "lion")], [axis(0), axis(1)])
    await index.shutdown()
    for name in ("keywords.db", "keywords.db-wal", "keywords.db-shm"):
        (folder / name).unlink(missing_ok=True)

    index = await open_one()
    assert ids(await index.query_keyword(STORE, "zebra", 5)) == ["a"]
    await index.shutdown()


async def approximate_recall(index: VectorIndex, count: int) -> float:
    """Recall@10 of an approximate (HNSW) index on `count` random 16-d unit vectors against exact search, over
    20 noisy queries with and without a filter passing half the chunks; each filtered answer must be 10 that pass."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((count, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    await index.create_store("vs", 16)
    await index.add_chunks("vs", [chunk(str(i), "x", odd=i % 2) for i in range(count)], vectors.tolist())
    odd = ComparisonFilter(type="eq", key="odd", value=1)
    found = exact = 0
    for query in vectors[:20] + 0.3 * rng.standard_normal((20, 16)).astype(np.float32):
        scores = vectors @ (query / np.linalg.norm(query))
        results = await index.query_vector("vs", query.tolist(), 10)
        filtered = await index.query_vector("vs", query.tolist(), 10, odd)
        assert len(filtered) == 10 and all(result.chunk.attributes["odd"] == 1 for result in filtered)
        found += len({int(r.chunk.chunk_id) for r in results} & set(np.argsort(-scores)[:10].tolist()))
        scores[::2] = -np.inf
        found += len({int(r.chunk.chunk_id) for r in filtered} & set(np.argsort(-scores)[:10].tolist()))
        exact += 20
    return found / exact


# Attribute sets for the filter tests: strings, ints, floats, bools, and missing keys.
FILTERED = {
    "a": {"lang": "en", "year": 2021, "score": 0.5, "public": True},
    "b": {"lang": "fr", "year": 2023, "score": 0.9, "public": False},
    "c": {"lang": "en", "year": 2024, "public": True, "date": "2024-03-01"},
    "d": {"lang": "de", "score": 0.1},
    "e": {"year": 2023, "date": "2023-12-31"},
    "f": {},
    "g": {"lang": "en", "year": 2023.0, "score": 1, "public": False},
    "h": {"year": True, "lang": "1"},
}


def _eq(type_: str, key: str, value: Any) -> ComparisonFilter:
    return ComparisonFilter(type=type_, key=key, value=value)  # type: ignore[arg-type]


FILTERS: dict[str, Filter] = {
    "eq-string": _eq("eq", "lang", "en"),
    "eq-int": _eq("eq", "year", 2023),
    "eq-bool": _eq("eq", "public", True),
    "eq-missing-everywhere": _eq("eq", "colour", "red"),
    "ne-string-missing-passes": _eq("ne", "lang", "en"),
    "ne-bool": _eq("ne", "public", False),
    "gt-int": _eq("gt", "year", 2021),
    "gte-int": _eq("gte", "year", 2023),
    "lt-float": _eq("lt", "score", 0.9),
    "lte-float": _eq("lte", "score", 0.9),
    "lt-string-date": _eq("lt", "date", "2024-01-01"),
    "gt-bool-never-compares-to-numbers": _eq("gt", "year", 0),
    "in-list": _eq("in", "lang", ["fr", "de"]),
    "in-scalar": _eq("in", "lang", "de"),
    "nin-list-missing-passes": _eq("nin", "lang", ["en", "fr"]),
    "and": CompoundFilter(type="and", filters=[_eq("eq", "lang", "en"), _eq("gte", "year", 2023)]),
    "or": CompoundFilter(type="or", filters=[_eq("eq", "lang", "fr"), _eq("lt", "score", 0.2)]),
    "nested": CompoundFilter(type="and", filters=[
        CompoundFilter(type="or", filters=[_eq("eq", "lang", "en"), _eq("in", "year", [2023])]),
        _eq("ne", "public", False),
    ]),
}


class VectorIndexContract:
    @pytest.fixture
    async def vector_index(self, open_index: OpenIndex) -> VectorIndex:
        index = await open_index()
        await index.create_store(STORE, DIM)
        return index

    # stores

    async def test_a_new_store_is_empty(self, vector_index: VectorIndex) -> None:
        assert await vector_index.query_vector(STORE, axis(0), 5) == []
        assert await vector_index.query_keyword(STORE, "anything", 5) == []

    async def test_creating_a_store_again_keeps_its_chunks(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a")], [axis(0)])
        await vector_index.create_store(STORE, DIM)
        assert await all_ids(vector_index) == {"a"}

    async def test_creating_a_store_again_with_another_dimension_conflicts(self, vector_index: VectorIndex) -> None:
        with pytest.raises(ConflictError):
            await vector_index.create_store(STORE, DIM + 1)

    async def test_a_deleted_store_is_not_found_and_comes_back_empty(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a", "zebra")], [axis(0)])
        await vector_index.delete_store(STORE)
        with pytest.raises(NotFoundError):
            await vector_index.query_vector(STORE, axis(0), 5)
        await vector_index.create_store(STORE, DIM)
        assert await vector_index.query_vector(STORE, axis(0), 5) == []
        assert await vector_index.query_keyword(STORE, "zebra", 5) == []

    async def test_deleting_an_unknown_store_does_nothing(self, vector_index: VectorIndex) -> None:
        await vector_index.delete_store("vs_never_created")

    async def test_every_call_on_an_unknown_store_is_not_found(self, vector_index: VectorIndex) -> None:
        calls = [
            vector_index.add_chunks("vs_missing", [chunk("a")], [axis(0)]),
            vector_index.query_vector("vs_missing", axis(0), 5),
            vector_index.query_keyword("vs_missing", "word", 5),
            vector_index.delete_chunks("vs_missing", file_id="f"),
            vector_index.update_attributes("vs_missing", "f", {"a": 1}),
        ]
        for call in calls:
            with pytest.raises(NotFoundError):
                await call

    async def test_stores_are_isolated(self, vector_index: VectorIndex) -> None:
        await vector_index.create_store("vs_other", DIM)
        await vector_index.add_chunks(STORE, [chunk("same", "zebra mine", "f1")], [axis(0)])
        await vector_index.add_chunks("vs_other", [chunk("same", "zebra theirs", "f1"), chunk("x", "zebra")],
                                      [axis(1), axis(2)])
        mine = await vector_index.query_vector(STORE, axis(1), ALL)
        assert [(r.chunk.chunk_id, r.chunk.content) for r in mine] == [("same", "zebra mine")]
        assert ids(await vector_index.query_keyword(STORE, "zebra", ALL)) == ["same"]
        assert await vector_index.delete_chunks("vs_other", file_id="f1") == 1
        assert await all_ids(vector_index) == {"same"}
        await vector_index.delete_store("vs_other")
        assert await all_ids(vector_index) == {"same"}

    # chunks

    async def test_a_chunk_comes_back_with_every_field(self, vector_index: VectorIndex) -> None:
        stored = Chunk(chunk_id="c1", content="Grüße, naïve café ☕", file_id="file-1", filename="notes.md",
                       attributes={"s": "x", "i": 3, "f": 1.5, "b": False},
                       metadata={"position": 2, "tokens": [1, 2], "nested": {"k": None}})
        await vector_index.add_chunks(STORE, [stored], [axis(0)])
        [result] = await vector_index.query_vector(STORE, axis(0), 1)
        assert result.chunk == stored
        [result] = await vector_index.query_keyword(STORE, "café", 1)
        assert result.chunk == stored

    async def test_adding_an_existing_chunk_id_replaces_it(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a", "old words"), chunk("b")], [axis(0), axis(1)])
        await vector_index.add_chunks(STORE, [chunk("a", "new words", lang="en")], [axis(2)])
        [top] = await vector_index.query_vector(STORE, axis(2), 1)
        assert (top.chunk.chunk_id, top.chunk.content, top.chunk.attributes) == ("a", "new words", {"lang": "en"})
        assert top.score == pytest.approx(1.0, abs=1e-5)
        assert await all_ids(vector_index) == {"a", "b"}
        assert await vector_index.query_keyword(STORE, "old", ALL) == []
        assert ids(await vector_index.query_keyword(STORE, "new", ALL)) == ["a"]

    async def test_the_last_of_duplicate_ids_in_one_call_wins(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a", "first"), chunk("a", "second")], [axis(0), axis(1)])
        results = await vector_index.query_vector(STORE, axis(1), ALL)
        assert [(r.chunk.content, round(r.score, 4)) for r in results] == [("second", 1.0)]

    async def test_a_wrong_dimension_is_an_invalid_request(self, vector_index: VectorIndex) -> None:
        with pytest.raises(InvalidRequestError):
            await vector_index.add_chunks(STORE, [chunk("a")], [[1.0, 0.0]])
        with pytest.raises(InvalidRequestError):
            await vector_index.query_vector(STORE, [1.0, 0.0], 5)
        with pytest.raises(InvalidRequestError):
            await vector_index.add_chunks(STORE, [chunk("a"), chunk("b")], [axis(0)])
        assert await all_ids(vector_index) == set()

    # vector queries

    async def test_vector_query_ranks_by_cosine_similarity(self, vector_index: VectorIndex) -> None:
        vectors = {"same": unit(1, 0), "close": unit(1, 0.5), "orthogonal": unit(0, 1), "opposite": unit(-1, 0.2)}
        await vector_index.add_chunks(STORE, [chunk(name) for name in vectors], list(vectors.values()))
        results = await vector_index.query_vector(STORE, unit(1, 0), ALL)
        assert ids(results) == ["same", "close", "orthogonal", "opposite"]
        expected = [1.0, 1 / math.sqrt(1.25), 0.0, -1 / math.sqrt(1.04)]
        assert [r.score for r in results] == pytest.approx(expected, abs=1e-5)

    async def test_vector_query_returns_k_best(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk(f"c{i}") for i in range(DIM)], [axis(i) for i in range(DIM)])
        results = await vector_index.query_vector(STORE, unit(0.1, 0.2, 0.3, 0.4, 0.5), 3)
        assert ids(results) == ["c4", "c3", "c2"]
        assert len(await vector_index.query_vector(STORE, axis(0), 100)) == DIM

    # keyword queries

    async def test_keyword_query_ranks_by_bm25(self, vector_index: VectorIndex) -> None:
        texts = {
            "twice": "the okapi and the okapi drink by the river",
            "once": "the okapi and the deer drink by the river",
            "none": "the horse and the deer drink by the river",
            "filler1": "the horse runs along the river bank today",
            "filler2": "the horse sleeps under the old oak tree",
        }
        await vector_index.add_chunks(STORE, [chunk(name, text) for name, text in texts.items()],
                                      [axis(i) for i in range(len(texts))])
        results = await vector_index.query_keyword(STORE, "okapi", ALL)
        assert ids(results) == ["twice", "once"]
        assert results[0].score > results[1].score > 0
        both = await vector_index.query_keyword(STORE, "Okapi horse", ALL)
        assert ids(both)[:2] == ["twice", "once"] and set(ids(both)) == set(texts)
        assert [r.score for r in both] == sorted((r.score for r in both), reverse=True)

    async def test_keyword_query_with_no_match_or_no_words_is_empty(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a", "plain words")], [axis(0)])
        for text in ("missing", "", "   ", "?!*"):
            assert await vector_index.query_keyword(STORE, text, 5) == []

    async def test_keyword_query_reads_search_syntax_as_plain_words(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a", "NOT a column: near the end")], [axis(0)])
        results = await vector_index.query_keyword(STORE, 'end" AND NOT (column:near* OR -x) ^ NEAR(', 5)
        assert ids(results) == ["a"]

    # filters

    @pytest.mark.parametrize("name", list(FILTERS))
    async def test_filters_select_what_the_reference_matches_selects(self, vector_index: VectorIndex,
                                                                      name: str) -> None:
        await vector_index.add_chunks(STORE, [chunk(key, "common word", **attrs) for key, attrs in FILTERED.items()],
                                      [axis(i) for i in range(len(FILTERED))])
        condition = FILTERS[name]
        expected = {key for key, attrs in FILTERED.items() if matches(attrs, condition)}
        assert await all_ids(vector_index, filters=condition) == expected
        assert set(ids(await vector_index.query_keyword(STORE, "common", ALL, condition))) == expected

    async def test_a_selective_filter_still_returns_k_results(self, vector_index: VectorIndex) -> None:
        near = [chunk(f"near{i}", "word", tier="common") for i in range(300)]
        far = [chunk(f"far{i}", "word", tier="rare") for i in range(12)]
        vectors = [unit(1, 0.001 * i) for i in range(300)] + [unit(0.01 * i, 1) for i in range(12)]
        await vector_index.add_chunks(STORE, near + far, vectors)
        rare = _eq("eq", "tier", "rare")
        results = await vector_index.query_vector(STORE, unit(1, 0), 10, rare)
        assert ids(results) == [f"far{i}" for i in range(11, 1, -1)]
        assert len(await vector_index.query_keyword(STORE, "word", 10, rare)) == 10
        either = _eq("in", "tier", ["common", "rare"])
        assert len(await vector_index.query_vector(STORE, unit(0, 1), 20, either)) == 20

    async def test_attribute_updates_apply_to_filters_at_once(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a1", "word", "fa", v=1), chunk("a2", "word", "fa", v=1),
                                              chunk("b1", "word", "fb", v=1)], [axis(0), axis(1), axis(2)])
        await vector_index.update_attributes(STORE, "fa", {"v": 2, "tag": "x"})
        assert await all_ids(vector_index, filters=_eq("eq", "v", 2)) == {"a1", "a2"}
        assert await all_ids(vector_index, filters=_eq("eq", "v", 1)) == {"b1"}
        assert set(ids(await vector_index.query_keyword(STORE, "word", ALL, _eq("eq", "tag", "x")))) == {"a1", "a2"}
        [result] = await vector_index.query_vector(STORE, axis(0), 1)
        assert result.chunk.attributes == {"v": 2, "tag": "x"}

    # deletions

    async def test_delete_by_file_removes_that_files_chunks(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a1", "zebra", "fa"), chunk("a2", "zebra", "fa"),
                                              chunk("b1", "zebra", "fb")], [axis(0), axis(1), axis(2)])
        assert await vector_index.delete_chunks(STORE, file_id="fa") == 2
        assert await all_ids(vector_index) == {"b1"}
        assert ids(await vector_index.query_keyword(STORE, "zebra", ALL)) == ["b1"]
        assert await vector_index.delete_chunks(STORE, file_id="fa") == 0

    async def test_delete_by_ids_removes_those_chunks(self, vector_index: VectorIndex) -> None:
        await vector_index.add_chunks(STORE, [chunk("a", "zebra"), chunk("b", "zebra"), chunk("c", "zebra")],
                                      [axis(0), axis(1), axis(2)])
        assert await vector_index.delete_chunks(STORE, chunk_ids=["a", "c", "unknown"]) == 2
        assert await all_ids(vector_index) == {"b"}
        assert ids(await vector_index.query_keyword(STORE, "zebra", ALL)) == ["b"]

    async def test_deleting_most_chunks_keeps_answers_right(self, vector_index: VectorIndex) -> None:
        count = 1100  # enough dead entries for an index to compact itself
        await vector_index.add_chunks(STORE, [chunk(f"c{i}", f"word w{i}", parity=i % 2) for i in range(count)],
                                      [unit(1, i / count) for i in range(count)])
        await vector_index.delete_chunks(STORE, chunk_ids=[f"c{i}" for i in range(count) if i % 25])
        await vector_index.add_chunks(STORE, [chunk("new", "word", parity=1)], [unit(1, 2)])
        kept = {f"c{i}" for i in range(0, count, 25)} | {"new"}
        assert await all_ids(vector_index) == kept
        assert ids(await vector_index.query_vector(STORE, unit(1, 0), 2)) == ["c0", "c25"]
        odd = {f"c{i}" for i in range(25, count, 50)} | {"new"}
        assert await all_ids(vector_index, filters=_eq("eq", "parity", 1)) == odd
        assert set(ids(await vector_index.query_keyword(STORE, "word", ALL))) == kept

    # durability and concurrency

    async def test_everything_survives_a_reopen(self, vector_index: VectorIndex, open_index: OpenIndex) -> None:
        await vector_index.create_store("vs_second", DIM)
        await vector_index.add_chunks(STORE, [chunk("a", "zebra one", "fa", n=1), chunk("b", "zebra two", "fb", n=2),
                                              chunk("c", "lion", "fc", n=3)], [axis(0), axis(1), axis(2)])
        await vector_index.add_chunks("vs_second", [chunk("z", "zebra")], [axis(3)])
        await vector_index.add_chunks(STORE, [chunk("a", "zebra zebra uno", "fa", n=1)], [axis(3)])
        await vector_index.delete_chunks(STORE, file_id="fc")
        await vector_index.update_attributes(STORE, "fb", {"n": 20})

        async def snapshot(index: VectorIndex) -> list[Any]:
            return [
                await index.query_vector(STORE, axis(3), ALL),
                await index.query_keyword(STORE, "zebra", ALL),
                await index.query_vector(STORE, axis(0), ALL, _eq("gt", "n", 10)),
                await index.query_vector("vs_second", axis(3), ALL),
            ]

        before = await snapshot(vector_index)
        await vector_index.shutdown()
        reopened = await open_index()
        assert await snapshot(reopened) == before
        assert ids(before[0]) == ["a", "b"] and ids(before[2]) == ["b"]
        await reopened.add_chunks(STORE, [chunk("d", "zebra")], [axis(4)])
        assert await all_ids(reopened) == {"a", "b", "d"}

    async def test_concurrent_writers_lose_nothing(self, vector_index: VectorIndex) -> None:
        await vector_index.create_store("vs_parallel", DIM)
        stores = [STORE, "vs_parallel"]

        async def write(batch: int) -> None:
            store = stores[batch % 2]
            chunks = [chunk(f"b{batch}-{i}", f"batch{batch} word", f"f{batch}") for i in range(20)]
            await vector_index.add_chunks(store, chunks, [unit(1, batch, i) for i in range(20)])
            await vector_index.query_vector(store, axis(0), 5)
            await vector_index.query_keyword(store, "word", 5)

        await asyncio.gather(*(write(batch) for batch in range(24)))
        await asyncio.gather(*(vector_index.delete_chunks(stores[b % 2], file_id=f"f{b}") for b in range(0, 24, 3)))
        for parity, store in enumerate(stores):
            expected = {f"b{b}-{i}" for b in range(parity, 24, 2) if b % 3 for i in range(20)}
            assert await all_ids(vector_index, store) == expected
            assert set(ids(await vector_index.query_keyword(store, "word", ALL))) == expected
