"""inline::sqlite-vec: chunks, FTS5 and vec0 vectors in one SQLite file; vector search from memory, HNSW when big."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.vector_io.sqlite_vec.config import SqliteVecConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: SqliteVecConfig, deps: ProviderDeps) -> Any:
    """Open the file and load every store (about 2 s per 100,000 chunks) in a worker thread."""
    from polystack.providers.inline.vector_io.sqlite_vec.vec0 import Vec0Embeddings, Vec0Scan, load_extension
    from polystack.providers.utils.vector_index.chunk_store import ChunkStore, StoredStore
    from polystack.providers.utils.vector_index.database import Database
    from polystack.providers.utils.vector_index.exact_matrix import ExactMatrix
    from polystack.providers.utils.vector_index.hnsw_searcher import HnswSearcher, graph_path
    from polystack.providers.utils.vector_index.searcher import VectorSearcher
    from polystack.providers.utils.vector_index.sqlite_index import SQLiteVectorIndex
    from polystack.providers.utils.vector_index.store_rows import StoreRows

    database = Database(config.db_path, on_connect=load_extension)

    def new_searcher(store: StoredStore, rows: StoreRows) -> VectorSearcher:
        if not config.in_memory_index:
            return Vec0Scan(database, store, rows)
        if config.ann_threshold is None:
            return ExactMatrix(store.dimension)
        return HnswSearcher(store.dimension, rows, threshold=config.ann_threshold, path=graph_path(database, store),
                            expansion_search=config.ann_ef_search)

    # vec0 scans run in SQLite on one core each: several at once use the cores an in-memory scan already uses.
    index = SQLiteVectorIndex("sqlite-vec", database, ChunkStore(Vec0Embeddings()), new_searcher,
                              threads=config.threads, search_threads=1 if config.in_memory_index else config.threads)
    return await index.open()
