"""Fixtures of the store tests: each runs on SQLite and on a database of its module's own on the shared PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from polystack.core.storage.config import PostgresSQLConfig, SQLBackendConfig, SqliteSQLConfig
from polystack.testing.postgres_admin import PG_HOST, PG_PORT, create_database, drop_database


@pytest.fixture(scope="module")
async def pg_database() -> AsyncIterator[PostgresSQLConfig]:
    try:
        config = await create_database()
    except OSError:
        pytest.skip(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    yield config
    await drop_database(config)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> SQLBackendConfig:
    if request.param == "sqlite":
        return SqliteSQLConfig(db_path=str(tmp_path / "store.db"))
    config: PostgresSQLConfig = request.getfixturevalue("pg_database")
    return config
