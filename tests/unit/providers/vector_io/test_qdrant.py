"""inline::qdrant (qdrant-client's local mode) against the vector-index contract, and its keyword index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract import (
    DIM,
    OpenIndex,
    VectorIndexContract,
    all_ids,
    axis,
    check_a_lost_keyword_index_is_rebuilt,
    chunk,
    shut_down_after,
)

from polystack.apis.vector_io.index import ComparisonFilter
from polystack.providers.inline.vector_io.qdrant import create
from polystack.providers.inline.vector_io.qdrant.config import QdrantConfig


@pytest.fixture
async def open_index(tmp_path: Path) -> AsyncIterator[OpenIndex]:
    async with shut_down_after(lambda: create(QdrantConfig(persist_dir=str(tmp_path / "qdrant")), {})) as opener:
        yield opener


class TestQdrantContract(VectorIndexContract):
    pass


async def test_a_lost_keyword_index_is_rebuilt_from_qdrant(tmp_path: Path) -> None:
    await check_a_lost_keyword_index_is_rebuilt(lambda: create(QdrantConfig(persist_dir=str(tmp_path)), {}), tmp_path)


async def test_odd_store_ids_and_attribute_names_round_trip(tmp_path: Path) -> None:
    index = await create(QdrantConfig(persist_dir=str(tmp_path)), {})
    store = "vs/é ünïcode-x_"
    await index.create_store(store, DIM)
    await index.add_chunks(store, [chunk("a", "word", **{"a.b[0]": "x", 'q"uote': 1})], [axis(0)])
    assert await all_ids(index, store, ComparisonFilter(type="eq", key="a.b[0]", value="x")) == {"a"}
    assert await all_ids(index, store, ComparisonFilter(type="gte", key='q"uote', value=1)) == {"a"}
    await index.shutdown()
    index = await create(QdrantConfig(persist_dir=str(tmp_path)), {})
    assert await all_ids(index, store) == {"a"}
    await index.shutdown()
