"""The shared half of a KV backend: the four scan methods derived from one range read, TTL checks, purges."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from polystack.core.storage.kv.keys import is_empty_range, prefix_end

PURGE_INTERVAL_SECONDS = 60.0


def check_ttl(ttl_seconds: float | None) -> None:
    """A TTL must be positive: zero or less is a caller bug, not "delete"."""
    if ttl_seconds is not None and not ttl_seconds > 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")


class ScanningKVStore(ABC):
    """Backends implement ranges with an optional end; prefixes and empty ranges are handled here once."""

    _last_purge: float = float("-inf")

    @abstractmethod
    async def _keys_between(self, start: str, end: str | None) -> list[str]:
        """Unexpired keys k with start <= k (< end unless None), sorted bytewise."""

    @abstractmethod
    async def _values_between(self, start: str, end: str | None) -> list[str]:
        """Their values, in key order."""

    async def keys_in_range(self, start: str, end: str) -> list[str]:
        return [] if is_empty_range(start, end) else await self._keys_between(start, end)

    async def values_in_range(self, start: str, end: str) -> list[str]:
        return [] if is_empty_range(start, end) else await self._values_between(start, end)

    async def keys_with_prefix(self, prefix: str) -> list[str]:
        return await self._keys_between(prefix, prefix_end(prefix))

    async def values_with_prefix(self, prefix: str) -> list[str]:
        return await self._values_between(prefix, prefix_end(prefix))

    def _purge_due(self) -> bool:
        """True at most once a minute: expired rows are invisible anyway, deleting them only saves space."""
        now = time.monotonic()
        if now - self._last_purge < PURGE_INTERVAL_SECONDS:
            return False
        self._last_purge = now
        return True
