"""inline::faiss against the vector-index contract, with its exact (flat) and HNSW indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract import OpenIndex, VectorIndexContract, approximate_recall, shut_down_after

from polystack.providers.inline.vector_io.faiss import create
from polystack.providers.inline.vector_io.faiss.config import FaissConfig


@pytest.fixture(params=["flat", "hnsw"])
async def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenIndex]:
    config = FaissConfig(persist_dir=str(tmp_path / "faiss"), index=request.param, hnsw_m=8, hnsw_ef_construction=32,
                         hnsw_ef_search=32)
    async with shut_down_after(lambda: create(config, {})) as opener:
        yield opener


class TestFaissContract(VectorIndexContract):
    pass


async def test_vectors_and_chunks_are_kept_in_a_sqlite_file_under_persist_dir(tmp_path: Path) -> None:
    index = await create(FaissConfig(persist_dir=str(tmp_path / "deep" / "faiss")), {})
    await index.shutdown()
    assert (tmp_path / "deep" / "faiss" / "faiss.db").is_file()


async def test_hnsw_finds_near_exact_neighbours_with_and_without_filters(tmp_path: Path) -> None:
    index = await create(FaissConfig(persist_dir=str(tmp_path), index="hnsw", hnsw_m=16, hnsw_ef_search=64), {})
    assert await approximate_recall(index, 3000) >= 0.9  # 3000: above the size searched exactly
    await index.shutdown()
