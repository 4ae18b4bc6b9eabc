"""An in-process KV store: a dict, a sorted key list for scans, and expiry deadlines. Also the tests' fake."""

from __future__ import annotations

import bisect
import time

from polystack.core.storage.kv.base import ScanningKVStore, check_ttl


class MemoryKVStore(ScanningKVStore):
    """Nothing survives the process; every call completes without yielding, so each is atomic."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._sorted_keys: list[str] = []
        self._deadlines: dict[str, float] = {}  # time.monotonic() after which the key is gone

    def _live(self, key: str, now: float) -> bool:
        deadline = self._deadlines.get(key)
        return key in self._values and (deadline is None or now < deadline)

    async def get(self, key: str) -> str | None:
        return self._values[key] if self._live(key, time.monotonic()) else None

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        check_ttl(ttl_seconds)
        if self._purge_due():
            self._purge()
        if key not in self._values:
            bisect.insort(self._sorted_keys, key)
        self._values[key] = value
        if ttl_seconds is None:
            self._deadlines.pop(key, None)
        else:
            self._deadlines[key] = time.monotonic() + ttl_seconds

    async def delete(self, key: str) -> None:
        if self._values.pop(key, None) is not None:
            del self._sorted_keys[bisect.bisect_left(self._sorted_keys, key)]
        self._deadlines.pop(key, None)

    async def _keys_between(self, start: str, end: str | None) -> list[str]:
        low = bisect.bisect_left(self._sorted_keys, start)
        high = len(self._sorted_keys) if end is None else bisect.bisect_left(self._sorted_keys, end)
        now = time.monotonic()
        return [key for key in self._sorted_keys[low:high] if self._live(key, now)]

    async def _values_between(self, start: str, end: str | None) -> list[str]:
        return [self._values[key] for key in await self._keys_between(start, end)]

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [key for key, deadline in self._deadlines.items() if deadline <= now]:
            self._values.pop(key, None)
            self._deadlines.pop(key, None)
            del self._sorted_keys[bisect.bisect_left(self._sorted_keys, key)]

    async def close(self) -> None:
        return None
