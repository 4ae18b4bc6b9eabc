"""inline::faiss: a FAISS index per store (exact flat or HNSW), chunks and vectors persisted in SQLite."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.vector_io.faiss.config import FaissConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: FaissConfig, deps: ProviderDeps) -> Any:
    """Open `<persist_dir>/faiss.db` and rebuild every store's FAISS index from it, in a worker thread."""
    import faiss

    from polystack.providers.inline.vector_io.faiss.faiss_index import FaissSearcher
    from polystack.providers.utils.vector_index.blob_embeddings import BlobEmbeddings
    from polystack.providers.utils.vector_index.chunk_store import ChunkStore, StoredStore
    from polystack.providers.utils.vector_index.database import Database
    from polystack.providers.utils.vector_index.searcher import VectorSearcher
    from polystack.providers.utils.vector_index.sqlite_index import SQLiteVectorIndex
    from polystack.providers.utils.vector_index.store_rows import StoreRows

    if config.omp_threads is not None:
        faiss.omp_set_num_threads(config.omp_threads)

    def new_searcher(store: StoredStore, rows: StoreRows) -> VectorSearcher:
        return FaissSearcher(store.dimension, config)

    folder = os.path.expanduser(config.persist_dir)  # noqa: ASYNC240 - start-up, once
    database = Database(os.path.join(folder, "faiss.db"))
    index = SQLiteVectorIndex("faiss", database, ChunkStore(BlobEmbeddings()), new_searcher, threads=config.threads)
    return await index.open()
