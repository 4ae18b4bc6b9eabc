"""Creates the configured PostgreSQL database when it is missing, so a distribution starts with one command."""

from __future__ import annotations

import logging

from polystack.core.storage.config import PostgresConnection

logger = logging.getLogger("polystack.storage")


async def ensure_database(config: PostgresConnection) -> None:
    """CREATE DATABASE if the server says it does not exist; any other problem is left to the store's own
    connection, which reports it with the address and without the password."""
    if not config.create_database_if_missing:
        return
    import asyncpg

    password = config.password.get_secret_value() if config.password else None
    common = {"host": config.host, "port": config.port, "user": config.user, "password": password,
              "ssl": config.ssl_mode, "timeout": 10}
    try:
        connection = await asyncpg.connect(database=config.db, **common)
    except asyncpg.InvalidCatalogNameError:
        pass
    except Exception:  # noqa: BLE001 - unreachable etc.: the store's open() reports it properly
        return
    else:
        await connection.close()
        return
    try:
        admin = await asyncpg.connect(database="postgres", **common)
    except Exception:  # noqa: BLE001
        return
    try:
        await admin.execute(f'CREATE DATABASE "{config.db}"')
        logger.info("created PostgreSQL database %s at %s:%d", config.db, config.host, config.port)
    except asyncpg.DuplicateDatabaseError:
        pass  # another replica created it first
    except asyncpg.PostgresError as exc:
        logger.warning("could not create database %s: %s", config.db, exc)
    finally:
        await admin.close()
