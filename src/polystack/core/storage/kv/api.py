"""The KV store contract every backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class KVStore(Protocol):
    """String keys to string values. Keys sort bytewise; ranges are [start, end). No NUL characters.

    Writes are durable when the call returns (for persistent backends). An expired key is absent
    from every read, whether or not the backend has physically removed it yet.
    """

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        """Create or replace; with `ttl_seconds` the key disappears after that long."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a key; removing a missing key is not an error."""
        ...

    async def keys_in_range(self, start: str, end: str) -> list[str]:
        """Keys k with start <= k < end, sorted."""
        ...

    async def values_in_range(self, start: str, end: str) -> list[str]:
        """Values of the keys k with start <= k < end, in key order."""
        ...

    async def keys_with_prefix(self, prefix: str) -> list[str]: ...

    async def values_with_prefix(self, prefix: str) -> list[str]: ...

    async def close(self) -> None: ...
