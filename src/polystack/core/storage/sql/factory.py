"""open_sql_store: the SQL store for a backend config, connected and checked."""

from __future__ import annotations

from polystack.core.storage.config import SQLBackendConfig
from polystack.core.storage.sql.api import SQLStore


async def open_sql_store(config: SQLBackendConfig) -> SQLStore:
    """Open the store and reach the database once, so an unreachable one fails at startup.

    Raises ServiceUnavailableError naming the backend and its address (never its password).
    """
    from polystack.core.storage.config import PostgresSQLConfig
    from polystack.core.storage.sql.sqlalchemy_store import SQLAlchemyStore  # imports SQLAlchemy

    if isinstance(config, PostgresSQLConfig):
        from polystack.core.storage.postgres_database import ensure_database

        await ensure_database(config)

    store = SQLAlchemyStore(config)
    try:
        await store.check_connection()
    except BaseException:
        await store.close()
        raise
    return store
