"""inline::milvus (Milvus Lite through pymilvus) against the vector-index contract, and its keyword index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract import DIM, STORE, OpenIndex, VectorIndexContract, all_ids, axis, chunk, ids

from polystack.apis.vector_io.index import ComparisonFilter, VectorIndex
from polystack.providers.inline.vector_io.milvus import create
from polystack.providers.inline.vector_io.milvus.config import MilvusConfig


@pytest.fixture
async def open_index(tmp_path: Path) -> AsyncIterator[OpenIndex]:
    opened: list[VectorIndex] = []

    async def open_milvus() -> VectorIndex:
        opened.append(await create(MilvusConfig(persist_dir=str(tmp_path / "milvus")), {}))
        return opened[-1]

    yield open_milvus
    for index in opened:
        await index.shutdown()


class TestMilvusContract(VectorIndexContract):
    pass


async def test_a_lost_keyword_index_is_rebuilt_from_milvus(tmp_path: Path) -> None:
    config = MilvusConfig(persist_dir=str(tmp_path))
    index = await create(config, {})
    await index.create_store(STORE, DIM)
    await index.add_chunks(STORE, [chunk("a", "zebra crossing"), chunk("b", "lion")], [axis(0), axis(1)])
    await index.shutdown()
    for name in ("keywords.db", "keywords.db-wal", "keywords.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)

    index = await create(config, {})
    assert ids(await index.query_keyword(STORE, "zebra", 5)) == ["a"]
    await index.shutdown()


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
