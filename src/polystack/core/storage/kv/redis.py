"""A KV store in Redis: one string per key, plus a sorted-set index of keys for bytewise range scans.

Layout (all under `polystack:kv:`): `value:<key>` holds the value (SET ... PX for a TTL, so Redis
expires it); `index` is a sorted set of every key at score 0, so ZRANGEBYLEX scans a range or prefix
in O(log n + m), bytewise like the other backends; `expiry` is a sorted set of the keys that have a
TTL, scored by their expiry time in ms. Writes and scans are Lua scripts, so the value and both sets
always change together. A scan first drops expired keys from both sets (by `expiry`, on the server
clock) and then skips any key whose value is gone (evicted, or expired within the same millisecond).

Durability is Redis's own: acknowledged writes survive a crash only with AOF (appendfsync always or
everysec). Needs a single Redis node (or a primary with replicas), not Redis Cluster: scans read keys
the script derives. The retry policy is short so a down server fails in about a second, not ten.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from polystack.apis.errors import ServiceUnavailableError
from polystack.core.storage.config import RedisKVConfig
from polystack.core.storage.kv.base import ScanningKVStore, check_ttl
from polystack.core.storage.kv.errors import kv_unavailable

T = TypeVar("T")

ROOT = "polystack:kv:"
INDEX_KEY = ROOT + "index"
EXPIRY_KEY = ROOT + "expiry"
VALUE_PREFIX = ROOT + "value:"
PRUNE_BATCH = 1000
MAX_CONNECTIONS = 16
_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)

# Sets `now` (server ms) and removes up to PRUNE_BATCH expired keys from the index and expiry sets.
# KEYS[1] must be the index and KEYS[2] the expiry set.
_PRUNE = f"""
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', now),
                           'LIMIT', 0, {PRUNE_BATCH})
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
"""

# KEYS: index, expiry, value key.  ARGV: key, value, ttl in ms ('' for none).
_SET = _PRUNE + """
local ttl = tonumber(ARGV[3])
if ttl then
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ttl)
  redis.call('ZADD', KEYS[2], string.format('%d', now + ttl), ARGV[1])
else
  redis.call('SET', KEYS[3], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
redis.call('ZADD', KEYS[1], 0, ARGV[1])
"""

# KEYS: index, expiry.  ARGV: ZRANGEBYLEX min, max, value key prefix, 'keys' or 'values'.
_SCAN = _PRUNE + """
local found = {}
for _, member in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2])) do
  local value_key = ARGV[3] .. member
  local item = false
  if ARGV[4] == 'values' then
    item = redis.call('GET', value_key)
  elseif redis.call('EXISTS', value_key) == 1 then
    item = member
  end
  if item then
    found[#found + 1] = item
  else
    redis.call('ZREM', KEYS[1], member)
    redis.call('ZREM', KEYS[2], member)
  end
end
return found
"""


class RedisKVStore(ScanningKVStore):
    """One client (with its connection pool) per store; redis-py reconnects after the server returns."""

    def __init__(self, client: aioredis.Redis, config: RedisKVConfig) -> None:
        self._client = client
        self._config = config
        self._set_script = client.register_script(_SET)
        self._scan_script = client.register_script(_SCAN)

    @classmethod
    async def open(cls, config: RedisKVConfig) -> RedisKVStore:
        """Connect and PING; a server that cannot be reached raises a 503."""
        # Blocking pool: a burst of calls waits for a connection instead of opening one per call.
        pool = aioredis.BlockingConnectionPool.from_url(
            config.url.get_secret_value(), max_connections=MAX_CONNECTIONS, timeout=30.0,
            decode_responses=True, socket_connect_timeout=5.0, socket_timeout=30.0,
            retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.25), retries=3))
        client = aioredis.Redis.from_pool(pool)  # closing the client closes the pool
        store = cls(client, config)
        try:
            await store._guard(client.ping())
        except BaseException:
            await store.close()
            raise
        return store

    def _unavailable(self, exc: BaseException) -> ServiceUnavailableError:
        url = self._config.url.get_secret_value()
        return kv_unavailable(self._config.type, self._config.address(), exc, [url, urlsplit(url).password])

    async def _guard(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc

    async def get(self, key: str) -> str | None:
        value = await self._guard(self._client.get(VALUE_PREFIX + key))
        return cast(str | None, value)  # the client decodes responses (decode_responses=True)

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        check_ttl(ttl_seconds)
        ttl_ms = "" if ttl_seconds is None else str(max(1, math.ceil(ttl_seconds * 1000)))
        await self._guard(self._set_script(keys=[INDEX_KEY, EXPIRY_KEY, VALUE_PREFIX + key],
                                           args=[key, value, ttl_ms]))

    async def delete(self, key: str) -> None:
        async def delete_all() -> Any:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(VALUE_PREFIX + key)
                pipe.zrem(INDEX_KEY, key)
                pipe.zrem(EXPIRY_KEY, key)
                return await pipe.execute()

        await self._guard(delete_all())

    async def _scan(self, start: str, end: str | None, wanted: str) -> list[str]:
        bound = "+" if end is None else "(" + end
        found: list[str] = await self._guard(self._scan_script(
            keys=[INDEX_KEY, EXPIRY_KEY], args=["[" + start, bound, VALUE_PREFIX, wanted]))
        return found

    async def _keys_between(self, start: str, end: str | None) -> list[str]:
        return await self._scan(start, end, "keys")

    async def _values_between(self, start: str, end: str | None) -> list[str]:
        return await self._scan(start, end, "values")

    async def close(self) -> None:
        await self._client.aclose()  # idempotent
