"""What several worker processes need from a run config: state shared between processes, not kept in one.

Workers share the stores as replicas do, so anything a process keeps only in its own memory would make
the answer depend on which worker took the connection: a model alias registered through one worker and
unknown to the other. Such a config is refused at start with the setting to change. Embedded models are
not refused, but each worker loads its own copy, so the memory they take is multiplied (a warning says so).
"""

from __future__ import annotations

from polystack.core.config import RunConfig
from polystack.core.storage.config import KVStoreReference, MemoryKVConfig, SqliteSQLConfig, StoresConfig

# inline providers that keep their index in this process (and say "one server process per file/folder")
_PER_PROCESS_INDEXES = {
    "inline::faiss": "keeps each index in process memory (one server process per persist_dir)",
    "inline::milvus": "Milvus Lite opens its file for one process",
    "inline::qdrant": "Qdrant's local mode locks its folder for one process",
}
# inline inference providers that answer without loading a model of their own
_NO_MODEL = {"inline::scripted"}


def shared_state_problems(config: RunConfig) -> list[str]:
    """Why this config cannot run with several workers (empty: it can), one sentence per setting."""
    problems = _store_problems(config)
    for api, providers in config.providers.items():
        for provider in providers:
            where = f"providers.{api} '{provider.provider_id}' ({provider.provider_type})"
            reason = _PER_PROCESS_INDEXES.get(provider.provider_type)
            if reason:
                problems.append(f"{where} {reason}; use inline::sqlite-vec or remote::pgvector")
    # inline::sqlite-vec is not refused: each process catches its in-memory copy (and HNSW graph) up from the
    # file's chunk rows and change log before every query (providers/utils/vector_index/changes.py).
    return problems


def _store_problems(config: RunConfig) -> list[str]:
    storage = config.storage
    problems = []
    if storage.stores.metadata is None:
        problems.append("storage.stores.metadata is unset, so the registry (models, aliases) would be in each "
                        "worker's memory; point it at a kv_sqlite, kv_postgres or kv_redis backend")
    for name in StoresConfig.model_fields:
        reference = getattr(storage.stores, name)
        backend_name = getattr(reference, "backend", None)
        backend = storage.backends.get(backend_name) if isinstance(backend_name, str) else None
        if isinstance(backend, MemoryKVConfig) and isinstance(reference, KVStoreReference):
            problems.append(f"storage.stores.{name} uses backend '{backend_name}' (kv_memory), which each worker "
                            "would hold apart; use kv_sqlite, kv_postgres or kv_redis")
        elif isinstance(backend, SqliteSQLConfig) and backend.db_path.strip() == ":memory:":
            problems.append(f"storage.stores.{name} uses backend '{backend_name}', an in-memory SQLite database "
                            "each worker would hold apart; give it a file")
    return problems


def embedded_model_providers(config: RunConfig) -> list[str]:
    """The inline inference providers, which load their models into each worker's memory."""
    return [f"{provider.provider_id} ({provider.provider_type})" for provider in config.providers.get("inference", [])
            if provider.provider_type.startswith("inline::") and provider.provider_type not in _NO_MODEL]
