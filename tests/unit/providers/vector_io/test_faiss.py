"""inline::faiss against the vector-index contract, with its exact (flat) and HNSW indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from contract import OpenIndex, VectorIndexContract

from polystack.apis.vector_io.index import Chunk, ComparisonFilter, VectorIndex
from polystack.providers.inline.vector_io.faiss import create
from polystack.providers.inline.vector_io.faiss.config import FaissConfig


@pytest.fixture(params=["flat", "hnsw"])
async def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenIndex]:
    opened: list[VectorIndex] = []

    async def open_faiss() -> VectorIndex:
        opened.append(await create(FaissConfig(persist_dir=str(tmp_path / "faiss"), index=request.param,
                                               hnsw_m=8, hnsw_ef_construction=32, hnsw_ef_search=32), {}))
        return opened[-1]

    yield open_faiss
    for index in opened:
        await index.shutdown()


class TestFaissContract(VectorIndexContract):
    pass


async def test_vectors_and_chunks_are_kept_in_a_sqlite_file_under_persist_dir(tmp_path: Path) -> None:
    index = await create(FaissConfig(persist_dir=str(tmp_path / "deep" / "faiss")), {})
    await index.shutdown()
    assert (tmp_path / "deep" / "faiss" / "faiss.db").is_file()


async def test_hnsw_finds_near_exact_neighbours_with_and_without_filters(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)  # above the size searched exactly
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = await create(FaissConfig(persist_dir=str(tmp_path), index="hnsw", hnsw_m=16, hnsw_ef_search=64), {})
    await index.create_store("vs", 16)
    await index.add_chunks("vs", [Chunk(chunk_id=str(i), content="x", attributes={"odd": i % 2})
                                  for i in range(3000)], vectors.tolist())
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
    assert found / exact >= 0.9
    await index.shutdown()
