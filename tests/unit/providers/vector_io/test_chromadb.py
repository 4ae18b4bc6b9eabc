"""remote::chromadb against the vector-index contract, on a real `chroma run` server on loopback.

The server comes from polystack.testing.chroma_server (chromadb 1.5.9 in a venv of its own).
One server serves the whole module; each test gets its own collection prefix and keyword index.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from contract import DIM, STORE, OpenIndex, VectorIndexContract, axis, chunk, ids, shut_down_after

from polystack.apis.errors import NotFoundError, ProviderError
from polystack.apis.vector_io.index import ComparisonFilter, VectorIndex
from polystack.providers.remote.vector_io.chromadb import create
from polystack.providers.remote.vector_io.chromadb.config import ChromaDBConfig
from polystack.testing.chroma_server import ChromaServer, chroma_binary
from polystack.testing.tcp_proxy import unused_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = chroma_binary()
    if binary is None:
        pytest.skip("no Chroma server: run scripts/chroma-server-venv (chromadb 1.5.9 in its own venv)")
    server = ChromaServer(binary, tmp_path_factory.mktemp("chroma"))
    yield server.url
    server.stop()


def config(url: str, folder: Path, prefix: str) -> ChromaDBConfig:
    return ChromaDBConfig(url=url, collection_prefix=prefix, keyword_index_path=str(folder / "keywords.db"))


@pytest.fixture
async def open_index(chroma_url: str, tmp_path: Path) -> AsyncIterator[OpenIndex]:
    settings = config(chroma_url, tmp_path, f"t{uuid.uuid4().hex[:12]}_")
    async with shut_down_after(lambda: create(settings, {})) as opener:
        yield opener


class TestChromaContract(VectorIndexContract):
    # Seen failing once in a loaded CI run (chunk set differed after interleaved adds and deletes), never
    # reproduced since (15 stress rounds under two busy loops). Suspected cause: HNSW answers short of k;
    # searches now fall back to an exhaustive scan then. Kept non-strict until it has a clean record.
    @pytest.mark.xfail(reason="remote::chromadb: one unexplained failure under load (issue #4)", strict=False)
    async def test_concurrent_writers_lose_nothing(self, vector_index: VectorIndex) -> None:
        await super().test_concurrent_writers_lose_nothing(vector_index)


async def test_a_lost_keyword_index_is_rebuilt_from_chroma(chroma_url: str, tmp_path: Path) -> None:
    index = await create(config(chroma_url, tmp_path, "rebuild_"), {})
    await index.create_store(STORE, DIM)
    await index.add_chunks(STORE, [chunk("a", "zebra crossing"), chunk("b", "lion")], [axis(0), axis(1)])
    await index.shutdown()

    index = await create(config(chroma_url, tmp_path / "elsewhere", "rebuild_"), {})
    assert ids(await index.query_keyword(STORE, "zebra", 5)) == ["a"]
    await index.shutdown()


async def test_string_order_filters_are_evaluated_by_polystack(chroma_url: str, tmp_path: Path) -> None:
    index = await create(config(chroma_url, tmp_path, "strings_"), {})
    await index.create_store("vs/odd id_", DIM)
    dates = {"a": "2023-12-31", "b": "2024-03-01", "c": "2024-01-01"}
    await index.add_chunks("vs/odd id_", [chunk(name, "word", date=date) for name, date in dates.items()],
                           [axis(0), axis(1), axis(2)])
    before = ComparisonFilter(type="lt", key="date", value="2024-02-01")
    assert ids(await index.query_vector("vs/odd id_", axis(2), 5, before)) == ["c", "a"]
    assert set(ids(await index.query_keyword("vs/odd id_", "word", 5, before))) == {"a", "c"}
    await index.shutdown()


async def test_an_unreachable_server_is_a_provider_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="cannot reach"):
        await create(config(f"http://127.0.0.1:{unused_port()}", tmp_path, "x_"), {})


async def test_a_collection_deleted_behind_our_back_is_not_found(chroma_url: str, tmp_path: Path) -> None:
    index = await create(config(chroma_url, tmp_path, "gone_"), {})
    await index.create_store(STORE, DIM)
    async with httpx.AsyncClient() as http:
        await http.delete(f"{chroma_url}/api/v2/tenants/default_tenant/databases/default_database"
                          f"/collections/gone_{STORE}")
    with pytest.raises(NotFoundError):
        await index.query_vector(STORE, axis(0), 5)
    await index.shutdown()
