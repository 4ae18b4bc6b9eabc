"""remote::chromadb against the vector-index contract, on a real `chroma run` server on loopback.

The server (chromadb 1.5.9) lives in its own venv, since it needs a newer pydantic than ours:
`scripts/chroma-server-venv` makes it (default /work/chroma-venv; POLYSTACK_CHROMA_VENV overrides).
One server serves the whole module; each test gets its own collection prefix and keyword index.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from contract import DIM, STORE, OpenIndex, VectorIndexContract, axis, chunk, ids

from polystack.apis.errors import NotFoundError, ProviderError
from polystack.apis.vector_io.index import ComparisonFilter, VectorIndex
from polystack.providers.remote.vector_io.chromadb import create
from polystack.providers.remote.vector_io.chromadb.config import ChromaDBConfig

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 30


def chroma_binary() -> str | None:
    venv = os.environ.get("POLYSTACK_CHROMA_VENV", "/work/chroma-venv")
    candidate = os.path.join(venv, "bin", "chroma")
    return candidate if os.access(candidate, os.X_OK) else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """`chroma run` on a free loopback port, its data and log in `folder`; also used by bench/vector_search.py."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        # No telemetry and no network: the server only listens on loopback, and we always send embeddings.
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_ANONYMIZED_TELEMETRY": "False",
               "CHROMA_TELEMETRY_ENABLED": "False", "NO_COLOR": "1"}
        command = [binary, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("w") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _alive(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma run did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = chroma_binary()
    if binary is None:
        pytest.skip("no Chroma server: run scripts/chroma-server-venv (chromadb 1.5.9 in its own venv)")
    server = ChromaServer(binary, tmp_path_factory.mktemp("chroma"))
    yield server.url
    server.stop()


def _alive(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def config(url: str, folder: Path, prefix: str) -> ChromaDBConfig:
    return ChromaDBConfig(url=url, collection_prefix=prefix, keyword_index_path=str(folder / "keywords.db"))


@pytest.fixture
async def open_index(chroma_url: str, tmp_path: Path) -> AsyncIterator[OpenIndex]:
    opened: list[VectorIndex] = []
    prefix = f"t{uuid.uuid4().hex[:12]}_"

    async def open_chroma() -> VectorIndex:
        opened.append(await create(config(chroma_url, tmp_path, prefix), {}))
        return opened[-1]

    yield open_chroma
    for index in opened:
        await index.shutdown()


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
        await create(config(f"http://127.0.0.1:{free_port()}", tmp_path, "x_"), {})


async def test_a_collection_deleted_behind_our_back_is_not_found(chroma_url: str, tmp_path: Path) -> None:
    index = await create(config(chroma_url, tmp_path, "gone_"), {})
    await index.create_store(STORE, DIM)
    httpx.delete(f"{chroma_url}/api/v2/tenants/default_tenant/databases/default_database/collections/gone_{STORE}")
    with pytest.raises(NotFoundError):
        await index.query_vector(STORE, axis(0), 5)
    await index.shutdown()
