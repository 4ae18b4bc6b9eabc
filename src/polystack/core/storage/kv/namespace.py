"""A view of a KV store under one namespace: keys are stored as "<namespace>:<key>"."""

from __future__ import annotations

from polystack.core.storage.kv.api import KVStore

SEPARATOR = ":"


def check_namespace(namespace: str) -> None:
    """Non-empty and without the separator: "a" + "b:k" and "a:b" + "k" would otherwise be one key."""
    if not namespace or SEPARATOR in namespace:
        raise ValueError(f"A KV namespace must be non-empty and without {SEPARATOR!r}: {namespace!r}")


class NamespacedKVStore:
    """Prefixing keeps order, so ranges and prefixes map straight through to the inner store.

    Several views usually share one backend, so closing a view closes the inner store only when
    `owns_inner` (as for the store `open_kv_store` returns).
    """

    def __init__(self, inner: KVStore, namespace: str, *, owns_inner: bool = False) -> None:
        check_namespace(namespace)
        self._inner = inner
        self._prefix = namespace + SEPARATOR
        self._owns_inner = owns_inner

    def _strip(self, keys: list[str]) -> list[str]:
        cut = len(self._prefix)
        return [key[cut:] for key in keys]

    async def get(self, key: str) -> str | None:
        return await self._inner.get(self._prefix + key)

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        await self._inner.set(self._prefix + key, value, ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._inner.delete(self._prefix + key)

    async def keys_in_range(self, start: str, end: str) -> list[str]:
        return self._strip(await self._inner.keys_in_range(self._prefix + start, self._prefix + end))

    async def values_in_range(self, start: str, end: str) -> list[str]:
        return await self._inner.values_in_range(self._prefix + start, self._prefix + end)

    async def keys_with_prefix(self, prefix: str) -> list[str]:
        return self._strip(await self._inner.keys_with_prefix(self._prefix + prefix))

    async def values_with_prefix(self, prefix: str) -> list[str]:
        return await self._inner.values_with_prefix(self._prefix + prefix)

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()
