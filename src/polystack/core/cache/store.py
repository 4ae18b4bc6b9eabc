"""Where cached answers live: this process's memory (a bounded LRU) or a KV backend (Redis), with a TTL."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from polystack.core.storage.kv.api import KVStore


class CacheStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...


class MemoryCache:
    """Least recently used entries go first once `max_entries` or `max_bytes` would be exceeded."""

    def __init__(self, *, ttl_seconds: float, max_entries: int, max_bytes: int) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def put(self, key: str, value: str) -> None:
        size = len(value)
        if size > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        while self._entries and (len(self._entries) >= self.max_entries or self.bytes + size > self.max_bytes):
            self._drop(next(iter(self._entries)))
        self._entries[key] = (time.monotonic() + self.ttl, value)
        self.bytes += size

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self.bytes -= len(value)


class KVCache:
    """Entries in a KV store (Redis for replicas to share them); the backend expires them."""

    def __init__(self, kv: KVStore, *, ttl_seconds: float) -> None:
        self.kv = kv
        self.ttl = ttl_seconds

    async def get(self, key: str) -> str | None:
        return await self.kv.get(key)

    async def put(self, key: str, value: str) -> None:
        await self.kv.set(key, value, ttl_seconds=self.ttl)
