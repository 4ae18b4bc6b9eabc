"""inline::milvus: a Milvus Lite collection per store (exact cosine search) via pymilvus, BM25 in an FTS5 sidecar."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.vector_io.milvus.config import MilvusConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps

INSTALL_HINT = "pip install 'polystack[milvus]'"


async def create(config: MilvusConfig, deps: ProviderDeps) -> Any:
    """Start Milvus Lite on `<persist_dir>/milvus.db`, load every store, and open the keyword index."""
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"inline::milvus needs pymilvus and milvus-lite: {INSTALL_HINT}") from exc
    from polystack.providers.inline.vector_io.milvus.milvus_engine import MilvusEngine
    from polystack.providers.utils.vector_index.engine_index import EngineVectorIndex
    from polystack.providers.utils.vector_index.keyword_sidecar import KeywordSidecar

    folder = os.path.expanduser(config.persist_dir)  # noqa: ASYNC240 - start-up, once
    os.makedirs(folder, exist_ok=True)
    engine = await MilvusEngine.open(os.path.join(folder, "milvus.db"), config.collection_prefix)
    return await EngineVectorIndex("milvus", engine, KeywordSidecar(os.path.join(folder, "keywords.db"))).open()
