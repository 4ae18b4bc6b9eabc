"""The SQL store contract: tables from a schema, CRUD, filters and cursor pagination, migrations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from polystack.apis.datatypes import User


class ColumnType(StrEnum):
    INTEGER = "integer"
    STRING = "string"  # short, indexable
    TEXT = "text"
    FLOAT = "float"
    BOOLEAN = "boolean"
    JSON = "json"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    type: ColumnType
    primary_key: bool = False
    nullable: bool = True
    index: bool = False


@dataclass(frozen=True)
class TableSchema:
    """A table. With `owned`, rows also keep `owner_principal` and `owner_attributes` (JSON), and every
    operation is subject to the caller's access policy (see core/storage/sql/access.py): a row is
    created as the caller's, and rows the caller may not read are invisible to fetch, count, update
    and delete. `resource_type` names the rows in access rules (`<resource_type>::<id>`; default: the
    table's name); their identifier is the primary key."""

    name: str
    columns: Mapping[str, Column]
    owned: bool = False
    resource_type: str | None = None


@dataclass
class Page:
    data: list[dict[str, Any]]
    has_more: bool


@dataclass(frozen=True)
class Query:
    """What fetch_all selects: equality filters, JSON-key filters, order and a cursor.

    `json_equals` = {"metadata": {"topic": "x"}} keeps rows whose metadata["topic"] == "x".
    `after` = (column, value) continues after the row whose `column` equals `value`, in `order_by` order.
    `owner` keeps only rows owned by that principal (None: no owner filter), on top of what the caller
    may read anyway.
    """

    where: Mapping[str, Any] = field(default_factory=dict)
    json_equals: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    order_by: Sequence[tuple[str, Literal["asc", "desc"]]] = ()
    after: tuple[str, Any] | None = None
    limit: int | None = None
    owner: str | None = None


Migration = Callable[["SQLStore"], Awaitable[None]]


@runtime_checkable
class SQLStore(Protocol):
    """Rows as dicts. Every write is one transaction, durable when the call returns."""

    async def create_table(self, schema: TableSchema) -> None:
        """Create the table and its indexes if missing (idempotent)."""
        ...

    async def insert(self, table: str, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                     owner: User | None = None, *, ignore_existing: bool = False) -> None:
        """Insert all rows or none; with `ignore_existing`, rows whose key is taken are skipped (replays).

        In an owned table the rows belong to `owner`, else to the caller; AccessDeniedError if the
        policy forbids the caller to create them."""
        ...

    async def upsert(self, table: str, row: Mapping[str, Any], conflict_columns: Sequence[str],
                     owner: User | None = None) -> None: ...

    async def fetch_all(self, table: str, query: Query | None = None) -> Page: ...

    async def fetch_one(self, table: str, where: Mapping[str, Any]) -> dict[str, Any] | None: ...

    async def count(self, table: str, where: Mapping[str, Any] | None = None) -> int: ...

    async def update(self, table: str, values: Mapping[str, Any], where: Mapping[str, Any]) -> int:
        """Returns how many rows changed."""
        ...

    async def delete(self, table: str, where: Mapping[str, Any]) -> int: ...

    async def authorize(self, table: str, where: Mapping[str, Any], action: Literal["update", "delete"]) -> int:
        """How many rows of `where` the caller can see, once AccessDeniedError has not said that `action` is
        forbidden on one of them: for changes a store makes elsewhere on a row's behalf (a vector store's
        files and chunks), checked before it makes them."""
        ...

    async def migrate(self, component: str, migrations: Sequence[Migration]) -> int:
        """Run, in order and once each, the migrations of `component` not yet applied; returns how many ran.

        Applied versions are recorded in a `polystack_migrations` table, so concurrent replicas
        starting together apply each migration exactly once.
        """
        ...

    async def add_column(self, table: str, name: str, column: Column) -> None:
        """Add a column (and its index) if missing; for migrations, which get this store as argument."""
        ...

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one raw statement (e.g. DDL in a migration) with :name parameters; returns the rowcount."""
        ...

    async def applied_migrations(self) -> dict[str, int]:
        """component -> highest applied version."""
        ...

    async def close(self) -> None: ...
