"""remote::pgvector: every store's chunks, HNSW vectors and BM25 keyword index in PostgreSQL with pgvector."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.remote.vector_io.pgvector.config import PgvectorConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: PgvectorConfig, deps: ProviderDeps) -> Any:
    """Connect, enable the extension and create the catalogue if missing; nothing is loaded into memory."""
    from polystack.providers.remote.vector_io.pgvector.pgvector_index import PgvectorIndex

    return await PgvectorIndex(config).open()
