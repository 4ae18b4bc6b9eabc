"""Storage config: named backends, and which backend each store (registry, inference, ...) uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from polystack.core.settings import not_implemented, refuse_unimplemented


class _Backend(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemoryKVConfig(_Backend):
    type: Literal["kv_memory"] = "kv_memory"


class SqliteKVConfig(_Backend):
    type: Literal["kv_sqlite"] = "kv_sqlite"
    db_path: str = Field(description="SQLite file; created with its folder if missing.")


class PostgresConnection(_Backend):
    host: str = "127.0.0.1"
    port: int = Field(default=5432, ge=1, le=65535)
    db: str = Field(default="polystack", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$")
    user: str = "postgres"
    password: SecretStr | None = None
    ssl_mode: str | None = Field(default=None, description="disable | require | verify-full ...")
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    create_database_if_missing: bool = Field(default=True, description="CREATE DATABASE at startup if needed.")

    def address(self) -> str:
        """host:port/db, for messages: never the password."""
        return f"{self.host}:{self.port}/{self.db}"


class PostgresKVConfig(PostgresConnection):
    type: Literal["kv_postgres"] = "kv_postgres"
    table_name: str = Field(default="polystack_kvstore", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class RedisKVConfig(_Backend):
    type: Literal["kv_redis"] = "kv_redis"
    url: SecretStr = Field(default=SecretStr("redis://127.0.0.1:6379/0"),
                           description="redis://[:password@]host:port/db; a secret because it may hold a password.")

    def address(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url.get_secret_value())
        return f"{parts.hostname}:{parts.port or 6379}{parts.path or ''}"


class SqliteSQLConfig(_Backend):
    type: Literal["sql_sqlite"] = "sql_sqlite"
    db_path: str


class PostgresSQLConfig(PostgresConnection):
    type: Literal["sql_postgres"] = "sql_postgres"


KVBackendConfig = Annotated[
    MemoryKVConfig | SqliteKVConfig | PostgresKVConfig | RedisKVConfig, Field(discriminator="type")
]
SQLBackendConfig = Annotated[SqliteSQLConfig | PostgresSQLConfig, Field(discriminator="type")]
BackendConfig = Annotated[
    MemoryKVConfig | SqliteKVConfig | PostgresKVConfig | RedisKVConfig | SqliteSQLConfig | PostgresSQLConfig,
    Field(discriminator="type"),
]


class KVStoreReference(_Backend):
    """A store kept in a KV backend, under its own namespace (key prefix)."""

    backend: str
    namespace: str | None = Field(default=None, pattern=r"^[^:]+$", description="Key prefix; no ':' in it.")


class SQLStoreReference(_Backend):
    """A store kept in a SQL backend, in its own table."""

    backend: str
    table_name: str | None = None


class InferenceStoreReference(SQLStoreReference):
    enabled: bool = Field(default=True, description="Store chat completions (a request's store=false is honoured).")
    max_write_queue_size: int = Field(default=10000, ge=1)
    num_writers: int = Field(default=4, ge=1)
    durability: Literal["journal", "commit", "none"] = Field(
        default="journal",
        description="journal: each record is appended to a local journal before the response (survives kill -9; "
        "replayed at the next start) and written to the database behind it. commit: the response waits for the "
        "database commit (group commit; also survives losing the machine, costs a transaction on the request "
        "path). none: written behind the response only.")
    journal_dir: str | None = Field(
        default=None, description="Where the journal lives; default <storage.store_dir>/journal/<table>-<database>.")


class ResponsesStoreReference(SQLStoreReference):
    max_write_queue_size: int = Field(default=10000, ge=1)
    num_writers: int = Field(default=2, ge=1)
    durability: Literal["write_behind", "commit"] = Field(
        default="write_behind",
        description="write_behind: a response is written behind its last event, in group commits (this replica "
        "reads its own writes at once, others tens of milliseconds later). commit: the last event waits for the "
        "database commit.")


class QuotaStoreReference(_Backend):
    """Where quota windows are counted: a kv_redis backend (shared by replicas) or a sql_* one (one server)."""

    backend: str
    namespace: str | None = Field(default=None, pattern=r"^[^:]+$", description="Redis key prefix "
                                  "(default polystack-quota).")


# pip packages each backend type needs beyond the core ones (sqlite is built in)
BACKEND_PACKAGES: dict[str, tuple[str, ...]] = {
    "kv_postgres": ("asyncpg==0.32.0",),
    "sql_postgres": ("asyncpg==0.32.0",),
    "kv_redis": ("redis==8.1.0",),
}


class StoresConfig(_Backend):
    """Which backend each store uses. Missing stores fall back to in-memory (nothing persists)."""

    metadata: KVStoreReference | None = Field(default=None, description="The resource registry.")
    inference: InferenceStoreReference | None = Field(default=None, description="Stored chat completions.")
    vector_stores: SQLStoreReference | None = Field(default=None, description="Vector stores, their files, batches.")
    conversations: SQLStoreReference | None = Field(
        default=None, description="Conversations and their items (the Conversations API); its items go in "
        "<table_name>_items.")
    responses: ResponsesStoreReference | None = Field(
        default=None, description="Stored responses (the Responses API); without it, nothing is stored.")
    agents: SQLStoreReference | None = Field(
        default=None, description="Agents, their sessions and turns (the Agents API; `table_name` default: agents, "
        "with <table_name>_sessions and <table_name>_turns). Without it, the responses store's backend.")
    files: Any = not_implemented("File metadata: each files provider has its own `metadata_store`.")
    prompts: SQLStoreReference | None = Field(
        default=None, description="Versioned prompts (the prompts API; `table_name` default: prompts).")
    quotas: QuotaStoreReference | None = Field(
        default=None, description="Quota windows: a kv_redis backend (every replica counts together) or a sql_* "
        "one. Default: SQLite in store_dir (quotas.db).")
    keys: SQLStoreReference | None = Field(default=None, description="Virtual keys and their usage. Default: "
                                           "SQLite in store_dir (admin.db).")
    audit: SQLStoreReference | None = Field(default=None, description="The audit log. Default: SQLite in store_dir "
                                            "(admin.db).")

    _unimplemented = refuse_unimplemented("files")


class StorageConfig(_Backend):
    store_dir: str | None = Field(
        default=None, description="The folder for every file the server writes itself (journals, ...). Default: "
        "$POLYSTACK_STORE_DIR, else ~/.polystack/distributions/<distro_name>; set when the run config loads.")
    backends: dict[str, BackendConfig] = Field(default_factory=dict)
    stores: StoresConfig = Field(default_factory=StoresConfig)

    def store_path(self) -> Path:
        """store_dir as a path; the run config always sets it."""
        if self.store_dir is None:
            raise ValueError("storage.store_dir is not set (it is filled in when a run config loads)")
        return Path(self.store_dir).expanduser()

    @model_validator(mode="after")
    def _references_exist(self) -> StorageConfig:
        for name in StoresConfig.model_fields:
            reference = getattr(self.stores, name)
            if not isinstance(reference, KVStoreReference | SQLStoreReference | QuotaStoreReference):
                continue
            backend = self.backends.get(reference.backend)
            if backend is None:
                known = ", ".join(sorted(self.backends)) or "none defined"
                raise ValueError(f"stores.{name} uses backend '{reference.backend}', which is not defined "
                                 f"under storage.backends ({known})")
            wanted = "kv_" if isinstance(reference, KVStoreReference) else "sql_"
            if name == "quotas":
                continue
            if not backend.type.startswith(wanted):
                raise ValueError(f"stores.{name} needs a {wanted}* backend, but '{reference.backend}' is "
                                 f"{backend.type}")
        quotas = self.stores.quotas
        if quotas is not None and self.backends[quotas.backend].type not in ("kv_redis", "sql_sqlite", "sql_postgres"):
            raise ValueError(f"stores.quotas needs a kv_redis or sql_* backend, but '{quotas.backend}' is "
                             f"{self.backends[quotas.backend].type}")
        return self
