"""Session-wide test isolation: every file the code under test writes goes to a temporary folder.

POLYSTACK_STORE_DIR (the distribution's store directory: journals, SQLite files) and HOME (any
other `~` default) point into the session's temporary folder; the model cache stays where it is,
so packaged models are not assembled again for every session.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from polystack.core.config import STORE_DIR_ENV
from polystack.testing.postgres_admin import drop_database, unused_database_name

MODEL_CACHE_ENV = "POLYSTACK_MODEL_CACHE_DIR"


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_outside_temporary_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(MODEL_CACHE_ENV, os.environ.get(MODEL_CACHE_ENV)
                   or str(Path.home() / ".cache" / "polystack" / "models"))
        env.setenv("HOME", str(home))
        env.setenv(STORE_DIR_ENV, str(tmp_path_factory.mktemp("stores")))
        yield


@pytest.fixture
async def pg_db() -> AsyncIterator[str]:
    """The name of a database on the machine's PostgreSQL that does not exist yet, for a stack to create
    (`create_database_if_missing`); dropped afterwards."""
    name = unused_database_name()
    yield name
    with suppress(OSError):  # a test that could not reach the server has already failed or skipped
        await drop_database(name)
