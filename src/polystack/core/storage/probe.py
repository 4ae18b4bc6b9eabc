"""Looks at a storage backend without changing it: reachable? its file or database there? migrations applied?

`polystack db status` uses this; opening the stores instead would create SQLite files, folders, PostgreSQL
databases and tables, which a status command must never do.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from polystack.apis.errors import PolystackError
from polystack.core.storage.config import (
    BackendConfig,
    MemoryKVConfig,
    PostgresConnection,
    RedisKVConfig,
    SqliteKVConfig,
    SqliteSQLConfig,
)
from polystack.core.storage.sql.schema import MIGRATIONS

_LEDGER_QUERY = f"SELECT component, MAX(version) FROM {MIGRATIONS.name} GROUP BY component"


@dataclass
class Sighting:
    """What a look at one backend found."""

    reachable: bool = False
    exists: bool = False
    error: str | None = None
    migrations: dict[str, int] = field(default_factory=dict)


async def look_at(backend: BackendConfig) -> Sighting:
    if isinstance(backend, SqliteKVConfig | SqliteSQLConfig):
        return _look_at_sqlite(backend.db_path)
    if isinstance(backend, PostgresConnection):
        return await _look_at_postgres(backend)
    return await _look_at_kv(backend)


def _look_at_sqlite(db_path: str) -> Sighting:
    path = Path(db_path).expanduser()
    if not path.is_file():
        return Sighting(reachable=True, exists=False)
    # Without a -wal file (no server has it open) everything is in the main file: read it as immutable, which
    # creates no -wal/-shm files either; with one, read-only access shares the running server's.
    live = path.with_name(path.name + "-wal").exists()
    uri = f"{path.resolve().as_uri()}?{'mode=ro' if live else 'immutable=1'}"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            has_ledger = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                    (MIGRATIONS.name,)).fetchone()
            rows = db.execute(_LEDGER_QUERY).fetchall() if has_ledger else []
    except sqlite3.Error as exc:
        return Sighting(reachable=False, exists=True, error=f"{path}: {exc}")
    return Sighting(reachable=True, exists=True, migrations={c: int(v) for c, v in rows})


async def _look_at_postgres(config: PostgresConnection) -> Sighting:
    import asyncpg

    password = config.password.get_secret_value() if config.password else None
    try:
        connection = await asyncpg.connect(host=config.host, port=config.port, user=config.user, password=password,
                                           database=config.db, ssl=config.ssl_mode, timeout=10)
    except asyncpg.InvalidCatalogNameError:
        return Sighting(reachable=True, exists=False)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        detail = str(exc).replace(password, "********") if password else str(exc)
        return Sighting(error=f"PostgreSQL at {config.address()} is unavailable: {detail}")
    try:
        rows = []
        if await connection.fetchval("SELECT to_regclass($1)", MIGRATIONS.name) is not None:
            rows = await connection.fetch(_LEDGER_QUERY)
    finally:
        await connection.close()
    return Sighting(reachable=True, exists=True, migrations={r[0]: int(r[1]) for r in rows})


async def _look_at_kv(backend: MemoryKVConfig | RedisKVConfig) -> Sighting:
    """Memory and Redis: opening one creates nothing, so open it and close it."""
    from polystack.core.storage.kv.factory import open_kv_store

    try:
        store = await open_kv_store(backend)
    except PolystackError as exc:
        return Sighting(error=exc.message)
    await store.close()
    return Sighting(reachable=True, exists=True)
