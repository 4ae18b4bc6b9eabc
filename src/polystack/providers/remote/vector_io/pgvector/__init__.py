"""remote::pgvector: every store's chunks, HNSW vectors and BM25 keyword index in PostgreSQL with pgvector."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.vector_io.pgvector.config import PgvectorConfig


async def create(config: PgvectorConfig, deps: Any) -> Any:
    """Connect, enable the extension and create the catalogue if missing; nothing is loaded into memory."""
    from polystack.providers.remote.vector_io.pgvector.pgvector_index import PgvectorIndex

    return await PgvectorIndex(config).open()
