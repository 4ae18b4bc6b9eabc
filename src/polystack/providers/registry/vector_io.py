"""Vector-io provider specs: the indexes behind vector stores (the router owns stores, files and chunking)."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec

_INLINE = "polystack.providers.inline.vector_io"


def available_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::sqlite-vec",
            module=f"{_INLINE}.sqlite_vec",
            config_class=f"{_INLINE}.sqlite_vec.config.SqliteVecConfig",
            description="The default: chunks, FTS5 keyword index and sqlite-vec vectors in one SQLite file; "
            "exact vector search from an in-memory copy.",
            pip_packages=("sqlite-vec==0.1.9", "pysqlite3-binary==0.5.4.post2", "numpy>=2.0,<3"),
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
    ]
