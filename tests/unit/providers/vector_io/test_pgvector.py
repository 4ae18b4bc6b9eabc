"""remote::pgvector against the vector-index contract on a real PostgreSQL with pgvector, across replicas, and failing.

The server is the PostgreSQL 16 + pgvector that the `pgserver` wheel bundles, started here for this
module in a temp folder on a free port of 127.0.0.1 (as root it runs as `nobody`: PostgreSQL refuses
to run as root). Every test gets its own table prefix in the one database.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import numpy as np
import pytest
from contract import (
    DIM,
    STORE,
    OpenIndex,
    VectorIndexContract,
    all_ids,
    approximate_recall,
    axis,
    chunk,
    ids,
    shut_down_after,
    unit,
)

from polystack.apis.errors import InvalidRequestError, NotFoundError, ProviderError, ServiceUnavailableError
from polystack.apis.vector_io.filters import matches
from polystack.apis.vector_io.index import ComparisonFilter, CompoundFilter, Filter, VectorIndex
from polystack.providers.remote.vector_io.pgvector import create
from polystack.providers.remote.vector_io.pgvector.config import PgvectorConfig
from polystack.testing.tcp_proxy import TcpProxy, unused_port
from polystack.testing.throwaway_postgres import ThrowawayPostgres, pgserver_bin_dir

PASSWORD = "hunter2-not-for-logs"


@pytest.fixture(scope="module")
def pg_port() -> Iterator[int]:
    bin_dir = pgserver_bin_dir()
    if bin_dir is None:
        pytest.skip("pgvector needs a PostgreSQL with the extension: pip install pgserver==0.1.4 "
                    "(a wheel bundling PostgreSQL 16 + pgvector 0.6)")
    server = ThrowawayPostgres(bin_dir)
    try:
        server.start()
        yield server.port
    finally:
        server.stop()


def config(port: int, prefix: str, **overrides: Any) -> PgvectorConfig:
    return PgvectorConfig(port=port, db="polystack", user="postgres", table_prefix=prefix, pool_min_size=1,
                          pool_max_size=4, **overrides)


@pytest.fixture(params=[0, 100], ids=["hnsw", "exact-then-hnsw"])
async def open_index(request: pytest.FixtureRequest, pg_port: int) -> AsyncIterator[OpenIndex]:
    """Stores with the HNSW index from the start, and stores that get it at 100 chunks."""
    settings = config(pg_port, f"t{uuid.uuid4().hex[:10]}_", hnsw_min_chunks=request.param)
    async with shut_down_after(lambda: create(settings, {})) as opener:
        yield opener


class TestPgvectorContract(VectorIndexContract):
    pass


async def test_two_replicas_see_each_others_stores_and_chunks_at_once(open_index: OpenIndex) -> None:
    first, second = await open_index(), await open_index()
    await first.create_store(STORE, DIM)
    await second.add_chunks(STORE, [chunk("a", "zebra", "fa", n=1), chunk("b", "lion", "fb", n=2)],
                            [axis(0), axis(1)])
    assert await all_ids(first) == {"a", "b"}
    assert ids(await first.query_keyword(STORE, "zebra", 10)) == ["a"]
    await first.update_attributes(STORE, "fb", {"n": 5})
    assert await all_ids(second, filters=ComparisonFilter(type="gt", key="n", value=4)) == {"b"}
    assert await first.delete_chunks(STORE, file_id="fa") == 1
    assert await all_ids(second) == {"b"}

    await second.delete_store(STORE)
    with pytest.raises(NotFoundError):
        await first.query_vector(STORE, axis(0), 5)
    await second.create_store(STORE, DIM + 1)  # the same id again, with another dimension
    with pytest.raises(InvalidRequestError):
        await first.add_chunks(STORE, [chunk("c")], [axis(0)])
    await first.add_chunks(STORE, [chunk("c", "zebra")], [[1.0] * (DIM + 1)])
    assert ids(await second.query_keyword(STORE, "zebra", 10)) == ["c"]


async def fetch_raw(pg_port: int, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Reads the provider's tables behind its back."""
    conn = await asyncpg.connect(host="127.0.0.1", port=pg_port, user="postgres", database="polystack")
    try:
        await conn.execute("SET enable_seqscan = off")  # EXPLAIN: the plan a large table would get
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def tables(index: VectorIndex) -> tuple[str, str]:
    """(catalogue, chunk table name pattern) of an index."""
    prefix = index._config.table_prefix  # type: ignore[attr-defined]
    return f'"{prefix}stores"', f"{prefix}chunks_"


async def test_the_bm25_counters_follow_every_write(open_index: OpenIndex, pg_port: int) -> None:
    index = await open_index()
    await index.create_store(STORE, DIM)
    await index.add_chunks(STORE, [chunk(f"c{i}", "word " * (i + 1), f"f{i % 3}") for i in range(9)],
                           [axis(i % DIM) for i in range(9)])
    await index.add_chunks(STORE, [chunk("c1", "other words entirely here"), chunk("new", "x y")], [axis(0), axis(1)])
    await index.delete_chunks(STORE, file_id="f2", chunk_ids=["c0"])
    catalogue, chunks = tables(index)
    [(num, count, length)] = await fetch_raw(
        pg_port, f"SELECT num, chunk_count, total_length FROM {catalogue} WHERE store_id = $1", STORE)
    [actual] = await fetch_raw(pg_port, f'SELECT count(*), sum(length(content_tsv)) FROM "{chunks}{num}"')
    assert (count, length) == tuple(actual) and count == 6


async def test_a_store_gets_its_hnsw_index_when_it_reaches_hnsw_min_chunks(pg_port: int) -> None:
    index = await create(config(pg_port, f"t{uuid.uuid4().hex[:10]}_", hnsw_min_chunks=50), {})
    await index.create_store(STORE, DIM)
    catalogue, chunks = tables(index)

    async def hnsw_indexes() -> list[str]:
        rows = await fetch_raw(pg_port, "SELECT indexname FROM pg_indexes WHERE indexname LIKE $1 || '%_hnsw'", chunks)
        return [row[0] for row in rows]

    await index.add_chunks(STORE, [chunk(f"a{i}") for i in range(49)], [unit(1, i) for i in range(49)])
    assert await hnsw_indexes() == []
    await index.add_chunks(STORE, [chunk("a0"), chunk("b")], [unit(1, 0), unit(0, 1)])  # 49 + 1 new
    assert await hnsw_indexes() == [f"{chunks}1_hnsw"]
    await index.delete_chunks(STORE, chunk_ids=["b"])
    await index.add_chunks(STORE, [chunk("c")], [unit(0, 1)])  # crossing again builds nothing more
    plan = await fetch_raw(pg_port, f'EXPLAIN SELECT chunk_id FROM "{chunks}1" ORDER BY embedding <=> $1 LIMIT 5',
                           str(unit(1, 0)))
    assert f"Index Scan using {chunks}1_hnsw" in "\n".join(row[0] for row in plan)
    assert ids(await index.query_vector(STORE, unit(0, 1), 1)) == ["c"]
    await index.shutdown()


def _random_value(rng: random.Random, in_filter: bool = False) -> Any:
    values = [True, False, 0, 1, 2, 1.0, 0.0, 2.5, -1, "a", "b", "1", "", "é", "Z", 10**20]
    return rng.choice(values + [math.inf, -math.inf, math.nan] if in_filter else values)


def _random_filter(rng: random.Random, depth: int = 0) -> Filter:
    if depth < 2 and rng.random() < 0.3:
        return CompoundFilter(type=rng.choice(["and", "or"]),
                              filters=[_random_filter(rng, depth + 1) for _ in range(rng.randint(0, 3))])
    kind = rng.choice(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"])
    value = [_random_value(rng, True) for _ in range(rng.randint(0, 3))] \
        if kind in ("in", "nin") or rng.random() < 0.05 else _random_value(rng, True)
    return ComparisonFilter(type=kind, key=rng.choice(["x", "y"]), value=value)  # type: ignore[arg-type]


async def test_each_store_keeps_the_text_search_config_it_was_created_with(pg_port: int) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    english = await create(config(pg_port, prefix), {})
    simple = await create(config(pg_port, prefix, text_search_config="simple"), {})
    await english.create_store("vs_english", DIM)
    await simple.create_store("vs_simple", DIM)
    for store in ("vs_english", "vs_simple"):
        await english.add_chunks(store, [chunk("a", "The okapis were drinking")], [axis(0)])
    for index in (english, simple):  # english stems both words to "drink"; simple only lowercases
        assert ids(await index.query_keyword("vs_english", "drinks", 5)) == ["a"]
        assert ids(await index.query_keyword("vs_simple", "drinks", 5)) == []
        assert ids(await index.query_keyword("vs_simple", "DRINKING", 5)) == ["a"]
    await english.shutdown()
    await simple.shutdown()
    with pytest.raises(ProviderError, match="no text search configuration 'klingon'"):
        await create(config(pg_port, prefix, text_search_config="klingon"), {})


async def test_random_filters_select_what_the_reference_selects(open_index: OpenIndex) -> None:
    rng = random.Random(4)
    index = await open_index()
    await index.create_store(STORE, DIM)
    attributes = [{key: _random_value(rng) for key in ("x", "y") if rng.random() < 0.8} for _ in range(60)]
    await index.add_chunks(STORE, [chunk(f"c{i}", "word", **attrs) for i, attrs in enumerate(attributes)],
                           [unit(1, i) for i in range(len(attributes))])
    for _ in range(200):
        condition = _random_filter(rng)
        expected = {f"c{i}" for i, attrs in enumerate(attributes) if matches(attrs, condition)}
        assert await all_ids(index, filters=condition) == expected, condition


async def test_hnsw_finds_near_exact_neighbours_with_and_without_filters(open_index: OpenIndex) -> None:
    assert await approximate_recall(await open_index(), 2000) >= 0.9


async def test_vectors_beyond_the_hnsw_limit_are_searched_exactly(open_index: OpenIndex) -> None:
    index = await open_index()
    await index.create_store("vs_wide", 3072)  # text-embedding-3-large: too wide for an HNSW index
    vectors = np.eye(3, 3072).tolist()
    await index.add_chunks("vs_wide", [chunk(f"c{i}") for i in range(3)], vectors)
    assert ids(await index.query_vector("vs_wide", vectors[2], 2)) == ["c2", "c0"]


async def test_an_unreachable_server_is_a_503_naming_it_without_the_password() -> None:
    port = unused_port()
    with pytest.raises(ServiceUnavailableError) as raised:
        await create(config(port, "t_", password=PASSWORD), {})
    error = raised.value
    assert error.status_code == 503
    assert f"pgvector at 127.0.0.1:{port}/polystack" in error.message
    assert PASSWORD not in error.message and PASSWORD not in str(error.to_body())


async def test_an_outage_at_run_time_is_a_503_then_the_pool_recovers(pg_port: int) -> None:
    proxy = TcpProxy(pg_port)
    await proxy.start()
    index = await create(config(proxy.port, f"t{uuid.uuid4().hex[:10]}_"), {})
    await index.create_store(STORE, DIM)
    await index.add_chunks(STORE, [chunk("a", "zebra")], [axis(0)])
    await proxy.stop()
    for call in (index.query_vector(STORE, axis(0), 5), index.query_keyword(STORE, "zebra", 5),
                 index.add_chunks(STORE, [chunk("b")], [axis(1)]), index.delete_store(STORE)):
        with pytest.raises(ServiceUnavailableError) as raised:
            await call
        assert f"pgvector at 127.0.0.1:{proxy.port}/polystack is unavailable" in raised.value.message
    await proxy.start()  # the server is back, on the same port
    assert await all_ids(index) == {"a"}
    await index.shutdown()
    await proxy.stop()


async def test_a_server_without_pgvector_says_how_to_install_it() -> None:
    """The machine's own PostgreSQL (scripts/ensure-services), which has no pgvector."""
    try:
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    try:
        available = await conn.fetchval("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()
    if available:
        pytest.skip("the PostgreSQL on 127.0.0.1:5432 has pgvector")
    with pytest.raises(ProviderError) as raised:
        await create(PgvectorConfig(port=5432, db="test", user="postgres"), {})
    message = raised.value.message
    assert "not installed in the PostgreSQL" in message and "127.0.0.1:5432/test" in message
    assert f"postgresql-{major}-pgvector" in message
