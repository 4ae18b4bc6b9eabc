"""Moving-window counters: Redis through the `limits` library (every replica shares it), or a SQL table.

Requests use `limits`' moving window (exact: one timestamp per request, in a Lua script, atomic across
replicas). Tokens use its sliding-window counter: a moving window approximated by weighting the previous
fixed window, O(1) per call; the exact moving window would store one Redis list entry per token. Tokens are
counted after the call (from its usage), so they are added even past the limit, saturating the window:
the next call is refused until enough of the window has slid by.

`limits` has no SQL backend, so for a single server without Redis the SQL counters keep one row per hit
(bucket, time, cost) and a window is a SUM over an index; rows older than a day are purged now and then.
`SQLiteCounter` calls SQLite synchronously on the event loop: a hit is a few tens of microseconds in WAL
mode, far less than the thread hops of an async driver (the bench measured 2 ms of CPU through
SQLAlchemy + aiosqlite). `SQLCounter` does the same through SQLAlchemy, for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from polystack.core.storage.sql.engines import SQLITE_BEGIN

if TYPE_CHECKING:
    from limits import RateLimitItemPerSecond


@dataclass(frozen=True, slots=True)
class Window:
    """`amount` of `kind` (requests or tokens) in any `seconds`."""

    kind: str
    amount: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The state of one window for one bucket after a check: what the rate-limit headers say."""

    window: Window
    allowed: bool
    remaining: int
    reset_seconds: float  # until the oldest hit counted leaves the window (when refused: until there is room)


class Counter(Protocol):
    async def hit(self, bucket: str, window: Window) -> Verdict:
        """Admit one request and count it, or refuse it (not counted)."""
        ...

    async def peek(self, bucket: str, window: Window) -> Verdict:
        """Whether anything is left (tokens: checked before a call), counting nothing."""
        ...

    async def spend(self, bucket: str, window: Window, cost: int) -> None:
        """Count `cost` tokens already spent, saturating the window when they pass its limit."""
        ...

    async def close(self) -> None: ...


class RedisCounter:
    """Windows in Redis, shared by every replica pointing at it."""

    def __init__(self, url: str, prefix: str = "polystack-quota") -> None:
        from limits.aio.storage import RedisStorage  # the `redis` extra (with redis-py)
        from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

        self._storage = RedisStorage(url.replace("redis://", "async+redis://", 1).replace(
            "rediss://", "async+rediss://", 1), implementation="redispy", key_prefix=prefix)
        self._moving = MovingWindowRateLimiter(self._storage)
        self._sliding = SlidingWindowCounterRateLimiter(self._storage)
        self._items: dict[Window, RateLimitItemPerSecond] = {}

    def _item(self, window: Window) -> RateLimitItemPerSecond:
        item = self._items.get(window)
        if item is None:
            from limits import RateLimitItemPerSecond

            item = self._items[window] = RateLimitItemPerSecond(window.amount, window.seconds, window.kind)
        return item

    async def hit(self, bucket: str, window: Window) -> Verdict:
        item = self._item(window)
        allowed = await self._moving.hit(item, bucket)
        stats = await self._moving.get_window_stats(item, bucket)
        return Verdict(window, allowed, stats.remaining, max(0.0, stats.reset_time - time.time()))

    async def peek(self, bucket: str, window: Window) -> Verdict:
        item = self._item(window)
        stats = await self._sliding.get_window_stats(item, bucket)
        reset = 0.0 if stats.remaining > 0 else max(0.0, stats.reset_time - time.time())
        return Verdict(window, stats.remaining > 0, stats.remaining, reset)

    async def spend(self, bucket: str, window: Window, cost: int) -> None:
        if cost <= 0:
            return
        item = self._item(window)
        if await self._sliding.hit(item, bucket, cost=cost):
            return
        left = (await self._sliding.get_window_stats(item, bucket)).remaining
        if left > 0:
            await self._sliding.hit(item, bucket, cost=left)

    async def reset(self) -> None:
        """Forget every count (tests)."""
        await self._storage.reset()

    async def close(self) -> None:
        return None


_metadata = sa.MetaData()
HITS = sa.Table(
    "polystack_quota_hits", _metadata,
    sa.Column("bucket", sa.String(400), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("cost", sa.BigInteger, nullable=False),
    sa.Index("ix_polystack_quota_hits_bucket_at", "bucket", "at"),
)
_LONGEST = 86400
_PURGE_EVERY = 60.0


class SQLCounter:
    """Windows as SUMs over a table of hits through SQLAlchemy (PostgreSQL): exact moving windows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = asyncio.Lock()  # one writer at a time in this process; BEGIN IMMEDIATE across processes
        self._next_purge = 0.0
        self._ready = False

    async def _setup(self) -> None:
        if not self._ready:
            from polystack.core.audit.log import create_tables

            await create_tables(self._engine, _metadata)
            self._ready = True

    async def _used(self, conn: Any, bucket: str, window: Window, now: float) -> tuple[int, float | None]:
        row = (await conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(HITS.c.cost), 0), sa.func.min(HITS.c.at))
            .where(HITS.c.bucket == bucket, HITS.c.at > now - window.seconds))).one()
        return int(row[0]), row[1]

    async def hit(self, bucket: str, window: Window) -> Verdict:
        await self._setup()
        async with self._lock, self._engine.connect() as raw:
            conn = await raw.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                if self._engine.dialect.name == "postgresql":
                    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:b))"), {"b": bucket})
                now = time.time()
                used, oldest = await self._used(conn, bucket, window, now)
                if used + 1 > window.amount:
                    return _verdict(window, used, oldest, now, False)
                await conn.execute(HITS.insert().values(bucket=bucket, at=now, cost=1))
                await self._maybe_purge(conn, now)
                return _verdict(window, used + 1, oldest if oldest is not None else now, now, True)

    async def peek(self, bucket: str, window: Window) -> Verdict:
        await self._setup()
        async with self._engine.connect() as conn:
            now = time.time()
            used, oldest = await self._used(conn, bucket, window, now)
            await conn.rollback()
        verdict = _verdict(window, used, oldest, now, used < window.amount)
        return verdict

    async def spend(self, bucket: str, window: Window, cost: int) -> None:
        if cost <= 0:
            return
        await self._setup()
        async with self._lock, self._engine.connect() as raw:
            conn = await raw.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                await conn.execute(HITS.insert().values(bucket=bucket, at=time.time(), cost=cost))

    async def _maybe_purge(self, conn: Any, now: float) -> None:
        if now >= self._next_purge:
            self._next_purge = now + _PURGE_EVERY
            await conn.execute(HITS.delete().where(HITS.c.at < now - _LONGEST))

    async def reset(self) -> None:
        await self._setup()
        async with self._engine.begin() as conn:
            await conn.execute(HITS.delete())

    async def close(self) -> None:
        await self._engine.dispose()


class SQLiteCounter:
    """The SQL window in a SQLite file, called synchronously (see the module docstring)."""

    def __init__(self, path: str, busy_timeout_ms: int = 1000) -> None:
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(Path(path).expanduser()), isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS polystack_quota_hits (bucket TEXT NOT NULL, at REAL NOT NULL, "
                         "cost INTEGER NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS ix_polystack_quota_hits_bucket_at ON "
                         "polystack_quota_hits (bucket, at)")
        self._next_purge = 0.0

    def _used(self, bucket: str, window: Window, now: float) -> tuple[int, float | None]:
        used, oldest = self._db.execute("SELECT COALESCE(SUM(cost), 0), MIN(at) FROM polystack_quota_hits "
                                        "WHERE bucket = ? AND at > ?", (bucket, now - window.seconds)).fetchone()
        return int(used), oldest

    async def hit(self, bucket: str, window: Window) -> Verdict:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            now = time.time()
            used, oldest = self._used(bucket, window, now)
            allowed = used + 1 <= window.amount
            if allowed:
                self._db.execute("INSERT INTO polystack_quota_hits VALUES (?, ?, 1)", (bucket, now))
                used, oldest = used + 1, oldest if oldest is not None else now
                if now >= self._next_purge:
                    self._next_purge = now + _PURGE_EVERY
                    self._db.execute("DELETE FROM polystack_quota_hits WHERE at < ?", (now - _LONGEST,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return _verdict(window, used, oldest, now, allowed)

    async def peek(self, bucket: str, window: Window) -> Verdict:
        now = time.time()
        used, oldest = self._used(bucket, window, now)
        return _verdict(window, used, oldest, now, used < window.amount)

    async def spend(self, bucket: str, window: Window, cost: int) -> None:
        if cost > 0:
            self._db.execute("INSERT INTO polystack_quota_hits VALUES (?, ?, ?)", (bucket, time.time(), cost))

    async def reset(self) -> None:
        self._db.execute("DELETE FROM polystack_quota_hits")

    async def close(self) -> None:
        self._db.close()


def _verdict(window: Window, used: int, oldest: float | None, now: float, allowed: bool) -> Verdict:
    reset = 0.0 if oldest is None else max(0.0, oldest + window.seconds - now)
    return Verdict(window, allowed, max(0, window.amount - used), reset)
