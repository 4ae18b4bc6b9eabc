"""The moving-window counters on SQLite, PostgreSQL and Redis: admit, refuse, tokens saturating, reset time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from polystack.apis.errors import ServiceUnavailableError
from polystack.core.quotas.config import QuotaConfig
from polystack.core.quotas.counters import Counter, RedisCounter, SQLCounter, SQLiteCounter, Window
from polystack.core.quotas.enforcer import Bucket, QuotaEnforcer, duration
from polystack.core.storage.config import PostgresSQLConfig
from polystack.core.storage.postgres_database import ensure_database
from polystack.core.storage.sql.engines import create_engine

from .conftest import REDIS_URL


@pytest.fixture(params=["sqlite", "postgres", "redis"])
async def counter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Counter]:
    made: Counter
    database = None
    if request.param == "sqlite":
        made = SQLiteCounter(str(tmp_path / "quotas.db"))
    elif request.param == "postgres":
        database = f"polystack_quotas_{uuid.uuid4().hex[:10]}"
        config = PostgresSQLConfig(db=database)
        await ensure_database(config)
        made = SQLCounter(create_engine(config))
    else:
        made = RedisCounter(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}")
    yield made
    if isinstance(made, RedisCounter):
        await made.reset()
    await made.close()
    if database is not None:
        admin = await asyncpg.connect(database="postgres", host="127.0.0.1", port=5432, user="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()


async def test_requests_window_admits_up_to_its_amount(counter: Counter) -> None:
    window = Window("requests", 3, 60)
    verdicts = [await counter.hit("alice", window) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert 0 < verdicts[-1].reset_seconds <= 60
    assert (await counter.hit("bob", window)).allowed  # another bucket


async def test_tokens_saturate_the_window(counter: Counter) -> None:
    window = Window("tokens", 100, 60)
    assert (await counter.peek("alice", window)).remaining == 100
    await counter.spend("alice", window, 60)
    assert (await counter.peek("alice", window)).allowed
    await counter.spend("alice", window, 500)  # spent past the limit: the window is full
    full = await counter.peek("alice", window)
    assert not full.allowed and full.remaining == 0 and full.reset_seconds > 0


async def test_an_unreachable_quota_store_is_a_503_not_a_500() -> None:
    enforcer = QuotaEnforcer(QuotaConfig(), RedisCounter("redis://127.0.0.1:1/0"))
    with pytest.raises(ServiceUnavailableError):
        await enforcer.hit(Bucket("x", Window("requests", 1, 60), "test"))


def test_reset_durations_read_like_openai_s() -> None:
    assert [duration(s) for s in (0, 0.02, 1, 59.2, 60, 360, 3723)] == ["0s", "20ms", "1s", "1m0s", "1m0s", "6m0s",
                                                                         "1h2m3s"]
