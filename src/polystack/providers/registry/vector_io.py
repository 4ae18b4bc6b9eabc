"""Vector-io provider specs: the indexes behind vector stores (the router owns stores, files and chunking)."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec

_INLINE = "polystack.providers.inline.vector_io"
_REMOTE = "polystack.providers.remote.vector_io"


def available_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::sqlite-vec",
            module=f"{_INLINE}.sqlite_vec",
            config_class=f"{_INLINE}.sqlite_vec.config.SqliteVecConfig",
            description="The default: chunks, FTS5 keyword index and sqlite-vec vectors in one SQLite file; "
            "vector search from an in-memory copy, exact or through an HNSW graph (usearch) for big stores.",
            pip_packages=("sqlite-vec==0.1.9", "pysqlite3-binary==0.5.4.post2", "numpy>=2.0,<3", "usearch==2.26.6"),
            extra="sqlite-vec",
            api_dependencies=(),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::faiss",
            module=f"{_INLINE}.faiss",
            config_class=f"{_INLINE}.faiss.config.FaissConfig",
            description="A FAISS index per store (exact flat or HNSW); chunks, FTS5 and vectors persisted in SQLite.",
            pip_packages=("faiss-cpu==1.15.1", "pysqlite3-binary==0.5.4.post2", "numpy>=2.0,<3"),
            extra="faiss",
            api_dependencies=(),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::pgvector",
            module=f"{_REMOTE}.pgvector",
            config_class=f"{_REMOTE}.pgvector.config.PgvectorConfig",
            description="PostgreSQL with pgvector: a table per store with an HNSW index (cosine) and a generated "
            "tsvector (GIN, BM25 computed in SQL); filters run in SQL; replicas share every store.",
            pip_packages=("asyncpg==0.32.0", "numpy>=2.0,<3"),
            extra="pgvector",
            api_dependencies=(),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::qdrant",
            module=f"{_INLINE}.qdrant",
            config_class=f"{_INLINE}.qdrant.config.QdrantConfig",
            description="A collection per store in qdrant-client's embedded local mode (exact, pure Python: for "
            "development and small stores); BM25 from an FTS5 index beside it.",
            pip_packages=("qdrant-client==1.20.0", "pysqlite3-binary==0.5.4.post2", "numpy>=2.0,<3"),
            extra="qdrant",
            api_dependencies=(),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::chromadb",
            module=f"{_REMOTE}.chromadb",
            config_class=f"{_REMOTE}.chromadb.config.ChromaDBConfig",
            description="A collection per store (cosine HNSW) on a Chroma 1.x server over its REST API; BM25 "
            "from a local FTS5 index rebuilt from Chroma when it disagrees.",
            pip_packages=("pysqlite3-binary==0.5.4.post2", "numpy>=2.0,<3"),
            extra="chromadb",
            api_dependencies=(),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::milvus",
            module=f"{_INLINE}.milvus",
            config_class=f"{_INLINE}.milvus.config.MilvusConfig",
            description="A collection per store (exact FLAT cosine) in Milvus Lite through pymilvus; BM25 from an "
            "FTS5 index beside it.",
            pip_packages=("pymilvus==3.0.2", "milvus-lite==3.2.2", "pysqlite3-binary==0.5.4.post2", "numpy>=2.0,<3"),
            extra="milvus",
            api_dependencies=(),
        ),
    ]
