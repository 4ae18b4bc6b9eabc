"""Virtual keys and their usage in two SQL tables, and the lookup cache every replica keeps.

A key row is never deleted: revoking stamps `revoked_at` (usage and the audit log keep pointing at it).
A replica trusts a key it looked up for `cache_seconds`; after that it reads the row again, so a key revoked
or rotated on one replica is refused by every other within that bound (the revoking replica drops it at once).
Usage is one row per (key, model), incremented in the database (`x = x + n`), so replicas never overwrite
each other's counts; `spent_tokens` of the key row is incremented the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from polystack.apis.datatypes import User
from polystack.apis.errors import NotFoundError
from polystack.core.keys import secrets
from polystack.core.quotas.config import QuotaLimits
from polystack.core.storage.sql.api import Column, ColumnType, Page, Query, SQLStore, TableSchema

KEYS_TABLE = "virtual_keys"
USAGE_TABLE = "virtual_key_usage"

KEYS = TableSchema(KEYS_TABLE, {
    "id": Column(ColumnType.STRING, primary_key=True, nullable=False),
    "name": Column(ColumnType.STRING),
    "salt": Column(ColumnType.STRING, nullable=False),
    "digest": Column(ColumnType.STRING, nullable=False),
    "hint": Column(ColumnType.STRING, nullable=False),
    "principal": Column(ColumnType.STRING, nullable=False, index=True),
    "attributes": Column(ColumnType.JSON, nullable=False),
    "allowed_models": Column(ColumnType.JSON),
    "quota": Column(ColumnType.JSON),
    "budget_tokens": Column(ColumnType.INTEGER),
    "spent_tokens": Column(ColumnType.INTEGER, nullable=False),
    "expires_at": Column(ColumnType.INTEGER),
    "revoked_at": Column(ColumnType.INTEGER),
    "created_at": Column(ColumnType.INTEGER, nullable=False),
    "created_by": Column(ColumnType.STRING),
})
USAGE = TableSchema(USAGE_TABLE, {
    "id": Column(ColumnType.STRING, primary_key=True, nullable=False),  # <key id>|<model>
    "key_id": Column(ColumnType.STRING, nullable=False, index=True),
    "model": Column(ColumnType.STRING, nullable=False),
    "requests": Column(ColumnType.INTEGER, nullable=False),
    "tokens_in": Column(ColumnType.INTEGER, nullable=False),
    "tokens_out": Column(ColumnType.INTEGER, nullable=False),
})


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What a request made with a key needs: its principal, models, quota and budget."""

    id: str
    user: User
    allowed_models: tuple[str, ...] | None
    quota: QuotaLimits | None
    budget_tokens: int | None
    expires_at: int | None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def record_of(row: dict[str, Any]) -> KeyRecord:
    models = row.get("allowed_models")
    quota = row.get("quota")
    return KeyRecord(row["id"], User(principal=row["principal"], attributes=row.get("attributes") or {}),
                     tuple(models) if models is not None else None,
                     QuotaLimits.model_validate(quota) if quota else None, row.get("budget_tokens"),
                     row.get("expires_at"))


class KeyStore:
    def __init__(self, sql: SQLStore, cache_seconds: float = 5.0) -> None:
        self.sql = sql
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, KeyRecord]] = {}  # token digest (unsalted) -> (until, record)
        self._records: dict[str, KeyRecord] = {}  # key id -> the record its last authentication found

    async def migrate(self) -> None:
        async def create(store: SQLStore) -> None:
            await store.create_table(KEYS)
            await store.create_table(USAGE)

        await self.sql.migrate("virtual_keys", [create])
        await self.sql.create_table(KEYS)
        await self.sql.create_table(USAGE)

    # ---- admin -------------------------------------------------------------------------------------

    async def create(self, *, principal: str, attributes: dict[str, list[str]], name: str | None,
                     expires_at: int | None, allowed_models: list[str] | None, quota: QuotaLimits | None,
                     budget_tokens: int | None, created_by: str | None) -> tuple[dict[str, Any], str]:
        key_id, token = secrets.new_token()
        salt = secrets.new_salt()
        row = {"id": key_id, "name": name, "salt": salt.hex(), "digest": secrets.digest(token, salt),
               "hint": secrets.redacted(token), "principal": principal, "attributes": attributes,
               "allowed_models": allowed_models, "quota": quota.model_dump(exclude_none=True) if quota else None,
               "budget_tokens": budget_tokens, "spent_tokens": 0, "expires_at": expires_at, "revoked_at": None,
               "created_at": int(time.time()), "created_by": created_by}
        await self.sql.insert(KEYS_TABLE, row)
        return row, token

    async def get(self, key_id: str) -> dict[str, Any]:
        row = await self.sql.fetch_one(KEYS_TABLE, {"id": key_id})
        if row is None:
            raise NotFoundError(f"No key with id '{key_id}'", param="key_id")
        return row

    async def page(self, limit: int, after: str | None) -> Page:
        return await self.sql.fetch_all(KEYS_TABLE, Query(order_by=[("id", "asc")], limit=limit,
                                                          after=("id", after) if after else None))

    async def rotate(self, key_id: str) -> tuple[dict[str, Any], str]:
        row = await self.get(key_id)
        if row["revoked_at"] is not None:
            raise NotFoundError(f"Key '{key_id}' is revoked", param="key_id")
        token = secrets.token_for(key_id)
        salt = secrets.new_salt()
        values = {"salt": salt.hex(), "digest": secrets.digest(token, salt), "hint": secrets.redacted(token)}
        await self.sql.update(KEYS_TABLE, values, {"id": key_id})
        self._forget(key_id)
        return {**row, **values}, token

    async def revoke(self, key_id: str) -> dict[str, Any]:
        row = await self.get(key_id)
        if row["revoked_at"] is None:
            row["revoked_at"] = int(time.time())
            await self.sql.update(KEYS_TABLE, {"revoked_at": row["revoked_at"]}, {"id": key_id})
        self._forget(key_id)
        return row

    # ---- the request path --------------------------------------------------------------------------

    async def authenticate(self, token: str) -> KeyRecord | None:
        """The live key `token` is, or None (unknown, wrong secret, revoked or expired)."""
        key_id = secrets.key_id_of(token)
        if key_id is None:
            return None
        now = time.monotonic()
        cache_key = secrets.digest(token, b"")
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            record = cached[1]
        else:
            row = await self.sql.fetch_one(KEYS_TABLE, {"id": key_id})
            if row is None or row["revoked_at"] is not None or not secrets.matches(token, row["salt"], row["digest"]):
                self._cache.pop(cache_key, None)
                return None
            record = record_of(row)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[cache_key] = (now + self.cache_seconds, record)
        if record.expired(time.time()):
            return None
        self._records[record.id] = record
        return record

    def record(self, key_id: str) -> KeyRecord | None:
        """The record the current request authenticated with (the inference hook's view of its key)."""
        return self._records.get(key_id)

    def _forget(self, key_id: str) -> None:
        for cache_key, (_, record) in list(self._cache.items()):
            if record.id == key_id:
                del self._cache[cache_key]

    async def spent(self, key_id: str) -> int:
        row = await self.sql.fetch_one(KEYS_TABLE, {"id": key_id})
        return int(row["spent_tokens"]) if row is not None else 0

    async def record_usage(self, key_id: str, model: str, tokens_in: int, tokens_out: int) -> None:
        await self.sql.execute(
            f"INSERT INTO {USAGE_TABLE} (id, key_id, model, requests, tokens_in, tokens_out) "
            "VALUES (:id, :key_id, :model, 1, :tin, :tout) ON CONFLICT (id) DO UPDATE SET "
            f"requests = {USAGE_TABLE}.requests + 1, tokens_in = {USAGE_TABLE}.tokens_in + :tin, "
            f"tokens_out = {USAGE_TABLE}.tokens_out + :tout",
            {"id": f"{key_id}|{model}", "key_id": key_id, "model": model, "tin": tokens_in, "tout": tokens_out})
        if tokens_in or tokens_out:
            await self.sql.execute(f"UPDATE {KEYS_TABLE} SET spent_tokens = spent_tokens + :n WHERE id = :id",
                                   {"n": tokens_in + tokens_out, "id": key_id})

    async def usage(self, key_id: str) -> list[dict[str, Any]]:
        await self.get(key_id)
        page = await self.sql.fetch_all(USAGE_TABLE, Query(where={"key_id": key_id}, order_by=[("model", "asc")]))
        return page.data
