"""The async engine for a SQL backend: SQLite (WAL, busy timeout, our own BEGIN) or PostgreSQL (pool, SSL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from polystack.core.storage.config import PostgresSQLConfig, SqliteSQLConfig
from polystack.core.storage.sql import nul_escape

SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 10.0
# Connection execution option naming the SQLite BEGIN mode: "IMMEDIATE" takes the write lock up front.
SQLITE_BEGIN = "polystack_sqlite_begin"


def describe(config: SqliteSQLConfig | PostgresSQLConfig) -> str:
    """The backend for messages: type and address, never credentials."""
    if isinstance(config, SqliteSQLConfig):
        return f"{config.type} at {config.db_path}"
    return f"{config.type} at {config.address()}"


def create_engine(config: SqliteSQLConfig | PostgresSQLConfig) -> AsyncEngine:
    """A lazily connecting engine; pool_pre_ping replaces connections the server dropped."""
    if isinstance(config, SqliteSQLConfig):
        return _sqlite_engine(config)
    return _postgres_engine(config)


def _sqlite_engine(config: SqliteSQLConfig) -> AsyncEngine:
    path = Path(config.db_path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        URL.create("sqlite+aiosqlite", database=str(path)), pool_pre_ping=True, hide_parameters=True
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own BEGIN handling skips BEGIN before DDL and cannot take the write lock
        # early; with isolation_level None we emit BEGIN ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def _postgres_engine(config: PostgresSQLConfig) -> AsyncEngine:
    url = URL.create(
        "postgresql+asyncpg",
        username=config.user,
        password=config.password.get_secret_value() if config.password else None,
        host=config.host,
        port=config.port,
        database=config.db,
    )
    connect_args: dict[str, Any] = {"timeout": POSTGRES_CONNECT_TIMEOUT_S}
    if config.ssl_mode:
        connect_args["ssl"] = config.ssl_mode
    # QueuePool keeps up to pool_size idle connections and opens max_overflow more under load.
    pool_size = max(config.pool_min_size, 1)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max(config.pool_max_size - pool_size, 0),
        pool_pre_ping=True,
        connect_args=connect_args,
        hide_parameters=True,
        # jsonb refuses U+0000 (`unsupported Unicode escape sequence`): JSON goes in escaped, comes out whole
        json_serializer=nul_escape.dumps,
        json_deserializer=nul_escape.loads,
    )
