"""Versioned prompts as rows of one owned SQL table: a row per (prompt_id, version).

Rows are owned (core/storage/sql/access.py): a prompt is its creator's, another caller's is not found, and
what the run config declares has no owner (readable by all, changed by none). Versions are never changed
after they are written; only `default_since` moves, so that:

- a new version and its being the default are one insert (no window where either is missing);
- two updates racing from the same latest version (two replicas) both try the same (prompt_id, version) key:
  the database lets one in and the other gets a 409, never two versions with one number;
- the default version is the row with the highest `default_since`, a stamp (nanoseconds) that each choice
  of a default sets above every earlier one of that prompt, so the last choice wins whatever the clocks say.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from polystack.apis.datatypes import User
from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError
from polystack.apis.prompts.types import ListPromptsResponse, Prompt
from polystack.core.errors import ConfigError
from polystack.core.prompts.rendering import check_template
from polystack.core.registered_resources import PromptInput
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema
from polystack.core.storage.sql.schema import OWNER_ATTRIBUTES, OWNER_PRINCIPAL

DEFAULT_TABLE = "prompts"
Row = dict[str, Any]


def prompts_table(name: str = DEFAULT_TABLE) -> TableSchema:
    """The table; `prompt_id` comes first, so access rules name a prompt `prompt::<prompt_id>`."""
    return TableSchema(name, {
        "prompt_id": Column(ColumnType.STRING, primary_key=True, nullable=False),
        "version": Column(ColumnType.INTEGER, primary_key=True, nullable=False),
        "prompt": Column(ColumnType.TEXT, nullable=False),
        "variables": Column(ColumnType.JSON, nullable=False),
        "created_at": Column(ColumnType.INTEGER, nullable=False),
        "default_since": Column(ColumnType.INTEGER),  # set when this version was made the default
    }, owned=True, resource_type="prompt")


def new_prompt_id() -> str:
    return "pmpt_" + secrets.token_hex(24)


class SQLPrompts:
    """The Prompts protocol over a SQLStore (SQLite or PostgreSQL)."""

    def __init__(self, sql: SQLStore, table: str = DEFAULT_TABLE, *,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.sql = sql
        self.table = table
        self._clock = clock

    async def migrate(self) -> None:
        schema = prompts_table(self.table)

        async def create_table(store: SQLStore) -> None:
            await store.create_table(schema)

        await self.sql.migrate(f"prompts:{self.table}", [create_table])
        await self.sql.create_table(schema)  # declares the table to this store object

    # ---- reads ------------------------------------------------------------------------------------

    async def list_prompts(self) -> ListPromptsResponse:
        rows = (await self.sql.fetch_all(self.table, Query(order_by=[("prompt_id", "asc"), ("version", "asc")]))).data
        by_prompt: dict[str, list[Row]] = {}
        for row in rows:
            by_prompt.setdefault(row["prompt_id"], []).append(row)
        defaults = [(versions[0]["created_at"], _default_of(versions)) for versions in by_prompt.values()]
        defaults.sort(key=lambda pair: (pair[0], pair[1]["prompt_id"]), reverse=True)
        return ListPromptsResponse(data=[_prompt(row, is_default=True) for _, row in defaults])

    async def get_prompt(self, prompt_id: str, version: int | None = None) -> Prompt:
        if version is None:  # the Responses engine's path: one indexed query
            page = await self.sql.fetch_all(self.table, Query(
                where={"prompt_id": prompt_id}, order_by=[("default_since", "desc"), ("version", "desc")], limit=1))
            if not page.data:
                raise _unknown(prompt_id)
            return _prompt(page.data[0], is_default=True)
        versions = await self._versions(prompt_id)
        chosen = _version_of(versions, prompt_id, version)
        return _prompt(chosen, is_default=_default_of(versions)["version"] == version)

    async def list_prompt_versions(self, prompt_id: str) -> ListPromptsResponse:
        versions = await self._versions(prompt_id)
        default = _default_of(versions)["version"]
        return ListPromptsResponse(data=[_prompt(row, is_default=row["version"] == default) for row in versions])

    # ---- writes -----------------------------------------------------------------------------------

    async def create_prompt(self, prompt: str, variables: list[str] | None = None) -> Prompt:
        declared = check_template(prompt, variables or [])
        row = self._row(new_prompt_id(), 1, prompt, declared, default_since=self._clock())
        await self.sql.insert(self.table, row)
        return _prompt(row, is_default=True)

    async def update_prompt(self, prompt_id: str, prompt: str, version: int, variables: list[str] | None = None,
                            set_as_default: bool = True) -> Prompt:
        declared = check_template(prompt, variables or [])
        versions = await self._versions(prompt_id)
        await self.sql.authorize(self.table, {"prompt_id": prompt_id}, "update")  # 403 before anything is said
        latest = versions[-1]["version"]
        if version != latest:
            raise ConflictError(
                f"Version {version} is not the latest version of prompt '{prompt_id}' (it is {latest}): an update "
                f"follows the latest version; read it and retry with version {latest}.", param="version")
        stamp = self._next_stamp(versions) if set_as_default else None
        row = self._row(prompt_id, latest + 1, prompt, declared, default_since=stamp)
        try:
            await self.sql.insert(self.table, row, owner=_owner(versions[0]))
        except ConflictError:
            raise ConflictError(
                f"Version {latest + 1} of prompt '{prompt_id}' was just made by another update; read the latest "
                "version and retry from it.", param="version") from None
        return _prompt(row, is_default=set_as_default)

    async def set_default_version(self, prompt_id: str, version: int) -> Prompt:
        versions = await self._versions(prompt_id)
        chosen = _version_of(versions, prompt_id, version)
        stamp = self._next_stamp(versions)
        where = {"prompt_id": prompt_id, "version": version}
        if not await self.sql.update(self.table, {"default_since": stamp}, where):
            raise _unknown(prompt_id)  # deleted meanwhile
        return _prompt(chosen, is_default=True)

    async def delete_prompt(self, prompt_id: str) -> None:
        if not await self.sql.delete(self.table, {"prompt_id": prompt_id}):
            raise _unknown(prompt_id)

    async def register(self, configured: Sequence[PromptInput]) -> None:
        """Make each prompt the run config declares exist, unowned, its text the default version: created at the
        first start, a new default version when the config's text or variables changed, else left alone.
        Replicas starting together agree (an insert of a version another one made is skipped)."""
        for index, entry in enumerate(configured):
            try:
                declared = check_template(entry.prompt, entry.variables)
            except InvalidRequestError as exc:
                raise ConfigError(exc.message, path=f"registered_resources.prompts[{index}]") from None
            versions = await self._versions(entry.prompt_id, missing_ok=True)
            default = _default_of(versions) if versions else None
            if default is not None and (default["prompt"], default["variables"]) == (entry.prompt, declared):
                continue
            number = versions[-1]["version"] + 1 if versions else 1
            row = self._row(entry.prompt_id, number, entry.prompt, declared, default_since=self._next_stamp(versions))
            await self.sql.insert(self.table, row, ignore_existing=True)

    # ---- helpers ----------------------------------------------------------------------------------

    async def _versions(self, prompt_id: str, *, missing_ok: bool = False) -> list[Row]:
        """Every version the caller can read, oldest first; NotFoundError when there is none."""
        query = Query(where={"prompt_id": prompt_id}, order_by=[("version", "asc")])
        page = await self.sql.fetch_all(self.table, query)
        if not page.data and not missing_ok:
            raise _unknown(prompt_id)
        return page.data

    def _next_stamp(self, versions: Sequence[Row]) -> int:
        """Above every earlier default choice of the prompt, even when this replica's clock is behind."""
        earlier: list[int] = [row["default_since"] for row in versions if row["default_since"] is not None]
        return max([self._clock(), *(stamp + 1 for stamp in earlier)])

    def _row(self, prompt_id: str, version: int, prompt: str, variables: list[str], *,
             default_since: int | None) -> Row:
        return {"prompt_id": prompt_id, "version": version, "prompt": prompt, "variables": variables,
                "created_at": self._clock() // 1_000_000_000, "default_since": default_since}


def _prompt(row: Row, *, is_default: bool) -> Prompt:
    return Prompt(prompt=row["prompt"], version=row["version"], prompt_id=row["prompt_id"],
                  variables=list(row["variables"]), is_default=is_default)


def _default_of(versions: Sequence[Row]) -> Row:
    """The version with the latest default choice (the latest version if none was ever chosen)."""
    return max(versions, key=lambda row: (row["default_since"] is not None, row["default_since"] or 0,
                                          row["version"]))


def _version_of(versions: Sequence[Row], prompt_id: str, version: int) -> Row:
    for row in versions:
        if row["version"] == version:
            return row
    raise NotFoundError(f"Prompt '{prompt_id}' has no version {version}.", param="version")


def _owner(row: Row) -> User | None:
    """Who owns the prompt: a new version is its owner's too, whoever (allowed to) made it."""
    principal = row.get(OWNER_PRINCIPAL)
    return User(principal=principal, attributes=row.get(OWNER_ATTRIBUTES) or {}) if principal else None


def _unknown(prompt_id: str) -> NotFoundError:
    return NotFoundError(f"Prompt '{prompt_id}' not found.", param="prompt_id")
