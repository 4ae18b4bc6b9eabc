"""remote::chromadb: a collection per store on a Chroma server (REST API over httpx), BM25 in a local FTS5 file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.vector_io.chromadb.config import ChromaDBConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: ChromaDBConfig, deps: ProviderDeps) -> Any:
    """Connect, list the server's stores, and rebuild any keyword index that disagrees with them."""
    from polystack.providers.remote.vector_io.chromadb.chroma_engine import ChromaEngine
    from polystack.providers.utils.http_client import make_http_client
    from polystack.providers.utils.vector_index.engine_index import EngineVectorIndex
    from polystack.providers.utils.vector_index.keyword_sidecar import KeywordSidecar

    headers = {"authorization": f"Bearer {config.auth_token.get_secret_value()}"} if config.auth_token else None
    client = make_http_client(base_url=config.url.rstrip("/"), headers=headers, timeout=config.timeout_s)
    engine = ChromaEngine(client, config)
    return await EngineVectorIndex("chromadb", engine, KeywordSidecar(config.keyword_index_path)).open()
