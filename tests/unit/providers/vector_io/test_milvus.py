"""inline::milvus (Milvus Lite through pymilvus) against the vector-index contract, and its keyword index."""

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
from polystack.providers.inline.vector_io.milvus import create
from polystack.providers.inline.vector_io.milvus.config import MilvusConfig


@pytest.fixture
async def open_index(tmp_path: Path) -> AsyncIterator[OpenIndex]:
    async with shut_down_after(lambda: create(MilvusConfig(persist_dir=str(tmp_path / "milvus")), {})) as opener:
        yield opener


class TestMilvusContract(VectorIndexContract):
    pass


async def test_a_lost_keyword_index_is_rebuilt_from_milvus(tmp_path: Path) -> None:
    await check_a_lost_keyword_index_is_rebuilt(lambda: create(MilvusConfig(persist_dir=str(tmp_path)), {}), tmp_path)


async def test_odd_store_ids_and_attribute_names_and_values(tmp_path: Path) -> None:
    index = await create(MilvusConfig(persist_dir=str(tmp_path)), {})
    store = "vs/é ünïcode-x_"
    await index.create_store(store, DIM)
    attributes = {'q"uo\\te': 'va"l\\ue', "date": "2024-01-01", "nl": "a\nb", "bell": "\x07"}
    await index.add_chunks(store, [chunk("a", "word", **attributes), chunk("b", "word", date="2023-05-01")],
                           [axis(0), axis(1)])
    for key, value in attributes.items():
        assert await all_ids(index, store, ComparisonFilter(type="eq", key=key, value=value)) == {"a"}
    assert await all_ids(index, store, ComparisonFilter(type="lt", key="date", value="2024")) == {"b"}
    await index.shutdown()
