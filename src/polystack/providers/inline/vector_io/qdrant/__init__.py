"""inline::qdrant: a Qdrant collection per store in qdrant-client's embedded local mode, BM25 in an FTS5 sidecar."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.vector_io.qdrant.config import QdrantConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps

INSTALL_HINT = "pip install 'polystack[qdrant]'"


async def create(config: QdrantConfig, deps: ProviderDeps) -> Any:
    """Open (or create) the local Qdrant storage and the keyword index; loading is ~2 s per 10,000 chunks."""
    try:
        import qdrant_client  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"inline::qdrant needs qdrant-client: {INSTALL_HINT}") from exc
    from polystack.providers.inline.vector_io.qdrant.qdrant_engine import QdrantEngine
    from polystack.providers.utils.vector_index.engine_index import EngineVectorIndex
    from polystack.providers.utils.vector_index.keyword_sidecar import KeywordSidecar

    folder = os.path.expanduser(config.persist_dir)  # noqa: ASYNC240 - start-up, once
    engine = await QdrantEngine.open(os.path.join(folder, "qdrant"), config.collection_prefix)
    return await EngineVectorIndex("qdrant", engine, KeywordSidecar(os.path.join(folder, "keywords.db"))).open()
