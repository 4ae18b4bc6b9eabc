"""SQLAlchemyStore: the SQLStore on SQLAlchemy 2 Core, async, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateColumn

from polystack.apis.datatypes import User
from polystack.apis.errors import AccessDeniedError, InvalidRequestError
from polystack.core.access.resources import Action
from polystack.core.audit import log as audit
from polystack.core.storage.config import PostgresSQLConfig, SqliteSQLConfig
from polystack.core.storage.sql import migrations as ledger
from polystack.core.storage.sql import queries
from polystack.core.storage.sql.access import Guard, guard_for
from polystack.core.storage.sql.api import Column, Migration, Page, Query, TableSchema
from polystack.core.storage.sql.engines import SQLITE_BEGIN, create_engine, describe
from polystack.core.storage.sql.errors import DatabaseException, translate
from polystack.core.storage.sql.schema import (
    MIGRATIONS,
    OWNER_ATTRIBUTES,
    OWNER_PRINCIPAL,
    RESOURCE_TYPE,
    build_column,
    build_table,
)

DDL_LOCK = "polystack:ddl"

MAX_PAGE_ROWS = 10_000  # the most rows one page returns, whatever limit a caller asks for


class SQLAlchemyStore:
    """Rows as dicts over tables declared with create_table; one transaction per call.

    The Table objects declared by create_table are kept, so no call reflects the database.
    Operations on owned tables obey the caller's access policy (see access.py).
    Inside a migration the store passed to the migration is bound to the migration's transaction.
    """

    def __init__(self, config: SqliteSQLConfig | PostgresSQLConfig) -> None:
        self._backend = describe(config)
        password = getattr(config, "password", None)
        self._secret: str | None = password.get_secret_value() if password else None
        self._engine = create_engine(config)
        self._metadata = sa.MetaData()
        self._conn: AsyncConnection | None = None  # set on the copy a migration receives
        self._after_commit: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def check_connection(self) -> None:
        """Raise ServiceUnavailableError now rather than on the first request."""
        async with self._connection() as conn:
            await conn.execute(sa.select(1))

    async def create_table(self, schema: TableSchema) -> None:
        table = build_table(schema, self._metadata)
        async with self._connection(schema.name, lock=DDL_LOCK) as conn:
            await conn.run_sync(self._metadata.create_all, tables=[table], checkfirst=True)

    async def insert(self, table: str, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                     owner: User | None = None, *, ignore_existing: bool = False) -> None:
        t = self._table(table)
        guard = guard_for(t)
        if guard is not None and owner is None:
            owner = guard.user
        batch = self._writable(t, [rows] if isinstance(rows, Mapping) else list(rows), owner)
        if guard is not None:
            guard.check(Action.CREATE, batch)
        elif owner is not None and t.info.get(RESOURCE_TYPE) is not None:  # written behind its request
            audit.created_for(owner, t.info[RESOURCE_TYPE], next(iter(t.primary_key.columns)).name, batch)
        stmt = t.insert()
        if ignore_existing:
            stmt = (postgresql.insert(t) if self.dialect == "postgresql" else sqlite.insert(t)).on_conflict_do_nothing()
        if batch:
            async with self._connection(table) as conn:
                await conn.execute(stmt, batch)

    async def upsert(self, table: str, row: Mapping[str, Any], conflict_columns: Sequence[str],
                     owner: User | None = None) -> None:
        t = self._table(table)
        guard = guard_for(t)
        values = self._writable(t, [row], owner or (guard.user if guard else None))[0]
        targets = [queries.column(t, name) for name in conflict_columns]
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = dialect_insert(t).values(values)
        kept = set(conflict_columns) | ({OWNER_PRINCIPAL, OWNER_ATTRIBUTES} if guard is not None else set())
        changes = {name: stmt.excluded[name] for name in values if name not in kept}  # a row keeps its owner
        if changes:
            stmt = stmt.on_conflict_do_update(index_elements=targets, set_=changes)
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=targets)
        async with self._connection(table) as conn:
            if guard is not None:
                await self._check_upsert(conn, t, guard, values, conflict_columns)
            await conn.execute(stmt)

    async def fetch_all(self, table: str, query: Query | None = None) -> Page:
        query = query or Query()
        t = self._table(table)
        guard = guard_for(t)
        conditions = self._conditions(t, query.where, query.owner, guard)
        conditions += queries.json_equalities(t, self.dialect, query.json_equals)
        tiebreakers = [c.name for c in t.primary_key.columns] + ([query.after[0]] if query.after else [])
        keys = queries.order_keys(t, query.order_by, tiebreakers)
        stmt = sa.select(t).where(*conditions).order_by(*queries.order_clauses(keys))
        # a page never exceeds MAX_PAGE_ROWS: callers may ask for any size, as OpenAI's list routes allow,
        # but a database takes a 64-bit LIMIT at most
        limit = None if query.limit is None else min(query.limit, MAX_PAGE_ROWS)
        if limit is not None:
            if limit < 0:
                raise InvalidRequestError("'limit' must not be negative.", param="limit")
            stmt = stmt.limit(limit + 1)  # one more than asked tells whether there are more
        async with self._connection(table) as conn:
            if query.after is not None:
                cursor = await self._cursor_values(conn, t, query.after, keys, query.owner, guard)
                stmt = stmt.where(queries.after(keys, cursor))
            rows = [dict(row) for row in (await conn.execute(stmt)).mappings()]
        has_more = limit is not None and len(rows) > limit
        return Page(data=rows[:limit] if has_more else rows, has_more=has_more)

    async def fetch_one(self, table: str, where: Mapping[str, Any]) -> dict[str, Any] | None:
        t = self._table(table)
        guard = guard_for(t)
        stmt = sa.select(t).where(*self._conditions(t, where, None, guard)).limit(1)
        async with self._connection(table) as conn:
            row = (await conn.execute(stmt)).mappings().first()
            return dict(row) if row is not None else None

    async def count(self, table: str, where: Mapping[str, Any] | None = None) -> int:
        t = self._table(table)
        guard = guard_for(t)
        stmt = sa.select(sa.func.count()).select_from(t).where(*self._conditions(t, where or {}, None, guard))
        async with self._connection(table) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def update(self, table: str, values: Mapping[str, Any], where: Mapping[str, Any]) -> int:
        t = self._table(table)
        changes = self._writable(t, [values], None)[0] if values else {}
        if not changes:
            return 0
        async with self._connection(table) as conn:
            conditions = await self._permitted(conn, t, where, Action.UPDATE)
            if conditions is None:
                return 0
            return (await conn.execute(t.update().where(*conditions).values(changes))).rowcount

    async def delete(self, table: str, where: Mapping[str, Any]) -> int:
        t = self._table(table)
        async with self._connection(table) as conn:
            conditions = await self._permitted(conn, t, where, Action.DELETE)
            if conditions is None:
                return 0
            return (await conn.execute(t.delete().where(*conditions))).rowcount

    async def authorize(self, table: str, where: Mapping[str, Any], action: Literal["update", "delete"]) -> int:
        t = self._table(table)
        async with self._connection(table) as conn:
            conditions = await self._permitted(conn, t, where, Action(action))
            if conditions is None:
                return 0
            stmt = sa.select(sa.func.count()).select_from(t).where(*conditions)
            return int((await conn.execute(stmt)).scalar_one())

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        async with self._connection(lock=DDL_LOCK) as conn:
            return (await conn.execute(sa.text(sql), dict(params or {}))).rowcount

    async def add_column(self, table: str, name: str, column: Column) -> None:
        added = build_column(name, column)
        scratch = sa.Table(table, sa.MetaData(), added)  # only to compile the DDL
        async with self._connection(table, lock=DDL_LOCK) as conn:
            if name not in await conn.run_sync(_column_names, table):
                quoted = conn.dialect.identifier_preparer.quote(table)
                spec = CreateColumn(added).compile(dialect=conn.dialect)
                await conn.exec_driver_sql(f"ALTER TABLE {quoted} ADD COLUMN {spec}")
                if column.index:
                    index = sa.Index(f"ix_{table}_{name}", scratch.c[name])
                    await conn.run_sync(index.create)
        self._on_commit(lambda: self._declare_column(table, name, column))

    async def migrate(self, component: str, migrations: Sequence[Migration]) -> int:
        await self.create_table(MIGRATIONS)
        async with self._connection() as conn:
            if await ledger.current_version(conn, component) >= len(migrations):
                return 0
        ran = 0
        for version, migration in enumerate(migrations, start=1):
            async with self._connection(MIGRATIONS.name, lock=f"polystack:migrate:{component}") as conn:
                if await ledger.current_version(conn, component) >= version:
                    continue
                bound = self._bound_to(conn)
                try:
                    await migration(bound)
                except Exception as exc:
                    name = getattr(migration, "__name__", repr(migration))
                    exc.add_note(f"in migration {version} of '{component}' ({name}); still at {version - 1}")
                    raise
                await ledger.record(conn, component, version)
            for declare in bound._after_commit:
                declare()
            ran += 1
        return ran

    async def applied_migrations(self) -> dict[str, int]:
        await self.create_table(MIGRATIONS)
        async with self._connection() as conn:
            return await ledger.all_versions(conn)

    async def close(self) -> None:
        await self._engine.dispose()

    @asynccontextmanager
    async def _connection(self, table: str | None = None, *, lock: str | None = None
                          ) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success; `lock` serializes across processes."""
        if self._conn is not None:  # inside a migration: its transaction, and its lock, already
            try:
                yield self._conn
            except DatabaseException as exc:
                raise self._translate(exc, table) from exc
            return
        try:
            conn = await self._engine.connect()
        except DatabaseException as exc:
            raise self._translate(exc, table, connecting=True) from exc
        try:
            if lock is not None and self.dialect == "sqlite":
                conn = await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            async with conn.begin():
                if lock is not None:
                    await ledger.lock(conn, lock)
                yield conn
        except DatabaseException as exc:
            raise self._translate(exc, table) from exc
        finally:
            with contextlib.suppress(*DatabaseException):  # closing a dead connection: already reported
                await conn.close()

    def _translate(self, exc: BaseException, table: str | None, connecting: bool = False) -> Exception:
        return translate(exc, self._backend, connecting=connecting, table=table, secret=self._secret)

    def _bound_to(self, conn: AsyncConnection) -> SQLAlchemyStore:
        bound = copy.copy(self)
        bound._conn = conn
        bound._after_commit = []
        return bound

    def _on_commit(self, action: Callable[[], None]) -> None:
        # A migration's schema changes reach the declared tables only once its transaction commits.
        if self._conn is None:
            action()
        else:
            self._after_commit.append(action)

    def _declare_column(self, table: str, name: str, column: Column) -> None:
        declared = self._metadata.tables.get(table)
        if declared is not None and name not in declared.c:
            declared.append_column(build_column(name, column))

    def _table(self, name: str) -> sa.Table:
        table = self._metadata.tables.get(name)
        if table is None:
            raise ValueError(f"Table '{name}' is not declared in this store: call create_table() first.")
        return table

    def _conditions(self, t: sa.Table, where: Mapping[str, Any], owner: str | None, guard: Guard | None
                    ) -> list[Any]:
        """`where`, the explicit `owner` filter, and the caller's read filter (see policy_sql.py)."""
        conditions: list[Any] = queries.equalities(t, where)
        if owner is not None:
            conditions.append(self._owner_column(t) == owner)
        if guard is not None:
            conditions.append(guard.clause(t, self.dialect))
        return conditions

    async def _permitted(self, conn: AsyncConnection, t: sa.Table, where: Mapping[str, Any], action: Action
                         ) -> list[Any] | None:
        """Conditions selecting the rows of `where` the caller may read, once `action` is allowed on all
        of them (AccessDeniedError otherwise); None when the caller can read none of them."""
        conditions = queries.equalities(t, where)
        guard = guard_for(t)
        if guard is None:
            return conditions
        visible = self._conditions(t, where, None, guard)
        rows = [dict(row) for row in (await conn.execute(sa.select(t).where(*visible))).mappings()]
        guard.check(action, rows)
        if not rows:
            return None
        return [*conditions, t.c[guard.key].in_([row[guard.key] for row in rows])]

    async def _check_upsert(self, conn: AsyncConnection, t: sa.Table, guard: Guard, values: Mapping[str, Any],
                            conflict_columns: Sequence[str]) -> None:
        """An upsert creates a row (create) or changes one the caller can read (update)."""
        stmt = sa.select(t).where(*queries.equalities(t, {name: values[name] for name in conflict_columns}))
        existing = (await conn.execute(stmt.limit(1))).mappings().first()
        if existing is None:
            guard.check(Action.CREATE, [values])
        elif not guard.allows(Action.READ, existing):
            raise AccessDeniedError(f"'{guard.user.principal}' may not write this {guard.resource_type}")
        else:
            guard.check(Action.UPDATE, [existing])

    def _owner_column(self, t: sa.Table) -> sa.Column[Any]:
        if OWNER_PRINCIPAL not in t.c:
            raise ValueError(f"Table '{t.name}' is not owned: create it with TableSchema(owned=True).")
        return t.c[OWNER_PRINCIPAL]

    async def _cursor_values(self, conn: AsyncConnection, t: sa.Table, after: tuple[str, Any],
                             keys: Sequence[queries.OrderKey], owner: str | None, guard: Guard | None
                             ) -> list[Any]:
        """The order-key values of the row the cursor names (one the caller may see)."""
        name, value = after
        stmt = sa.select(t).where(*self._conditions(t, {name: value}, owner, guard)).limit(1)
        found = (await conn.execute(stmt)).mappings().first()
        row = [found[col.name] for col, _ in keys] if found is not None else None
        if row is None:
            raise InvalidRequestError(
                f"Invalid 'after': no row of '{t.name}' has {name} = {value!r}.", param="after"
            )
        return list(row)

    def _writable(self, t: sa.Table, rows: Sequence[Mapping[str, Any]], owner: User | None
                  ) -> list[dict[str, Any]]:
        """Rows checked against the table's columns, with the owner's columns, all with the same keys."""
        names = {name for row in rows for name in row}
        for name in names:
            queries.column(t, name)
        result = [{name: row.get(name) for name in names} for row in rows]
        if owner is not None:
            self._owner_column(t)
            for row in result:
                row[OWNER_PRINCIPAL] = owner.principal
                row[OWNER_ATTRIBUTES] = owner.attributes
        return result


def _column_names(sync_conn: sa.Connection, table: str) -> set[str]:
    inspector = sa.inspect(sync_conn)
    if not inspector.has_table(table):
        raise ValueError(f"add_column: table '{table}' does not exist; call create_table() before migrate().")
    return {col["name"] for col in inspector.get_columns(table)}
