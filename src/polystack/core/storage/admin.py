"""What `polystack db migrate` and `polystack db status` do: reach each backend, migrate each store.

Status only looks (see probe.py); migrate opens the stores, creating what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from polystack.apis.errors import PolystackError
from polystack.core.config import RunConfig
from polystack.core.storage.config import KVStoreReference, SQLStoreReference, StoresConfig
from polystack.core.storage.kv.factory import open_kv_store
from polystack.core.storage.probe import look_at
from polystack.core.storage.sql.factory import open_sql_store


@dataclass
class BackendReport:
    name: str
    type: str
    address: str
    stores: list[str]
    reachable: bool = False
    exists: bool = False  # its SQLite file or PostgreSQL database is there (memory and Redis: always)
    error: str | None = None
    migrations: dict[str, int] = field(default_factory=dict)
    ran: int = 0


def _address(backend: object) -> str:
    address = getattr(backend, "address", None)
    return address() if callable(address) else str(getattr(backend, "db_path", "memory"))


def _stores_by_backend(stores: StoresConfig) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for name in StoresConfig.model_fields:
        reference = getattr(stores, name)
        if isinstance(reference, KVStoreReference | SQLStoreReference):
            users.setdefault(reference.backend, []).append(name)
    return users


async def inspect_storage(config: RunConfig, *, migrate: bool) -> list[BackendReport]:
    """Look at every backend without changing it; with `migrate`, open each and bring its tables up to date."""
    users = _stores_by_backend(config.storage.stores)
    reports = []
    for name, backend in config.storage.backends.items():
        report = BackendReport(name, backend.type, _address(backend), users.get(name, []))
        reports.append(report)
        if migrate:
            await _migrate(config, name, backend, report)
        else:
            sighting = await look_at(backend)
            report.reachable, report.exists = sighting.reachable, sighting.exists
            report.error, report.migrations = sighting.error, sighting.migrations
    return reports


async def _migrate(config: RunConfig, name: str, backend: object, report: BackendReport) -> None:
    """Open the backend (creating its file or database) and migrate the stores that live on it."""
    from polystack.core.conversations.store import ConversationStore
    from polystack.core.stores.inference import InferenceStore

    try:
        if backend.type.startswith("kv_"):  # type: ignore[attr-defined]
            store = await open_kv_store(backend)  # type: ignore[arg-type]
            await store.close()
        else:
            sql = await open_sql_store(backend)  # type: ignore[arg-type]
            try:
                inference = config.storage.stores.inference
                if inference is not None and inference.backend == name:
                    report.ran += await InferenceStore(sql, table=inference.table_name or "chat_completions").migrate()
                conversations = config.storage.stores.conversations
                if conversations is not None and conversations.backend == name:
                    report.ran += await ConversationStore(sql, conversations.table_name or "conversations").migrate()
                report.migrations = await sql.applied_migrations()
            finally:
                await sql.close()
        report.reachable = report.exists = True
    except PolystackError as exc:
        report.error = exc.message
