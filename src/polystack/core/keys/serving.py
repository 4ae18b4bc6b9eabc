"""Serves the admin APIs (keys, audit) and starts what quotas and keys need: stores, the hook, the sink.

Keys live in `storage.stores.keys` and the audit log in `storage.stores.audit` (SQL; default: SQLite
files in storage.store_dir). Quota windows are counted in `storage.stores.quotas`: a kv_redis backend
(every replica shares it) or a sql_* one (default: SQLite, one server). The quota hook is appended to
the inference router's chain (after guardrails, so their calls are counted too) only when a quota is
configured or keys can be used, so a server with neither pays nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from polystack.apis.audit.protocol import Audit
from polystack.apis.keys.protocol import Keys
from polystack.core.audit import log as audit
from polystack.core.audit.log import AuditLog
from polystack.core.impls import as_protocol
from polystack.core.keys.service import AdminService
from polystack.core.keys.store import KeyRecord, KeyStore
from polystack.core.quotas.counters import Counter, RedisCounter, SQLCounter, SQLiteCounter
from polystack.core.quotas.enforcer import QuotaEnforcer
from polystack.core.quotas.hook import QuotaHook
from polystack.core.routing.inference import InferenceRouter
from polystack.core.routing.models import ModelsRoutingTable
from polystack.core.serving import Providers, ServeContext
from polystack.core.storage.config import (
    PostgresSQLConfig,
    RedisKVConfig,
    SQLBackendConfig,
    SqliteSQLConfig,
    SQLStoreReference,
)
from polystack.core.storage.sql.engines import create_engine

if TYPE_CHECKING:
    from polystack.core.stack import Stack


def _sql_backend(context: ServeContext, reference: SQLStoreReference | None, default_file: str) -> SQLBackendConfig:
    if reference is None:
        return SqliteSQLConfig(db_path=str(Path(context.config.storage.store_path()) / default_file))
    backend = context.config.storage.backends[reference.backend]
    assert isinstance(backend, SqliteSQLConfig | PostgresSQLConfig)  # checked when the config loads
    return backend


def _counter(context: ServeContext) -> Counter:
    reference = context.config.storage.stores.quotas
    if reference is None:
        return SQLiteCounter(str(context.config.storage.store_path() / "quotas.db"))
    backend = context.config.storage.backends[reference.backend]
    if isinstance(backend, RedisKVConfig):
        return RedisCounter(backend.url.get_secret_value(), prefix=reference.namespace or "polystack-quota")
    if isinstance(backend, SqliteSQLConfig):
        return SQLiteCounter(backend.db_path)
    assert isinstance(backend, PostgresSQLConfig)  # checked when the config loads
    return SQLCounter(create_engine(backend))


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    server = context.config.server
    stores = context.config.storage.stores
    keys: KeyStore | None = None
    audit_log: AuditLog | None = None
    enforcer: QuotaEnforcer | None = None
    if server.auth is not None:
        from polystack.core.storage.sql.factory import open_sql_store

        sql = await open_sql_store(_sql_backend(context, stores.keys, "admin.db"))
        context.on_stop(sql.close)
        keys = KeyStore(sql, server.keys.cache_seconds)
        await keys.migrate()
        if server.audit.enabled:
            audit_log = AuditLog(create_engine(_sql_backend(context, stores.audit, "admin.db")),
                                 server.audit.flush_seconds, include_content=server.audit.include_content,
                                 max_content_bytes=server.audit.max_content_bytes)
            await audit_log.start()
            audit.install(audit_log)

            async def stop_audit() -> None:
                audit.install(None)
                assert audit_log is not None
                await audit_log.close()

            context.on_stop(stop_audit)
    if server.quota is not None or keys is not None:
        from polystack.core.quotas.config import QuotaConfig

        counter = _counter(context)
        context.on_stop(counter.close)
        enforcer = QuotaEnforcer(server.quota or QuotaConfig(), counter)
    models = context.impls.get("models")
    if keys is not None and isinstance(models, ModelsRoutingTable):
        models.key_models = _allowed_models(keys)
    router = context.impls.get("inference")
    if isinstance(router, InferenceRouter) and (keys is not None or (enforcer is not None and server.quota
                                                                      and server.quota.rules)):
        router.hooks.add(QuotaHook(enforcer, keys))
    service = AdminService(server.keys, keys, audit_log, enforcer)
    as_protocol(service, Keys, "the keys API")
    as_protocol(service, Audit, "the audit API")
    return {"keys": service}


async def serve_audit(context: ServeContext, providers: Providers) -> dict[str, object]:
    """The audit routes are served by the same object as the keys routes (served just before)."""
    return {"audit": context.impls["keys"]}


def _allowed_models(keys: KeyStore) -> Callable[[str], tuple[str, ...] | None]:
    """A key's `allowed_models` for the models table's listing; a key with no record this replica knows (never
    the case for the key the request authenticated with) sees no model rather than every one."""

    def allowed(key_id: str) -> tuple[str, ...] | None:
        record = keys.record(key_id)
        return record.allowed_models if record is not None else ()

    return allowed


def quota_enforcer(stack: Stack) -> QuotaEnforcer | None:
    """The running stack's enforcer, when a quota is configured or keys (which may have one) are on."""
    service = stack.impls.get("keys")
    return service.quotas if isinstance(service, AdminService) else None


def virtual_key_lookup(stack: Stack) -> Callable[[str], Awaitable[KeyRecord | None]]:
    """What the request-context middleware asks about a bearer token none of the config's keys is."""

    async def lookup(token: str) -> KeyRecord | None:
        service = stack.impls.get("keys")
        if not isinstance(service, AdminService) or service.keys is None:
            return None
        return await service.keys.authenticate(token)

    return lookup
