"""TableSchema to SQLAlchemy Core tables: column types per ColumnType, owner columns, UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

from polystack.core.storage.sql.api import Column, ColumnType, TableSchema
from polystack.core.storage.sql.nul_escape import escape_text, unescape_text

OWNER_PRINCIPAL = "owner_principal"
OWNER_ATTRIBUTES = "owner_attributes"
RESOURCE_TYPE = "resource_type"  # Table.info key: how access rules name an owned table's rows


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in UTC on both dialects.

    SQLite keeps no time zone, so values are stored as naive UTC and read back as aware UTC;
    naive values given to the store are taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class PortableString(sa.types.TypeDecorator[str]):
    """A string stored exactly on both dialects: PostgreSQL refuses U+0000 in text, so it is escaped there."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and dialect.name == "postgresql":
            return escape_text(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and dialect.name == "postgresql":
            return unescape_text(value)
        return value


class PortableText(PortableString):
    impl = sa.Text
    cache_ok = True


def json_type() -> sa.types.TypeEngine[Any]:
    # none_as_null: a Python None is SQL NULL, not the JSON text 'null', so IS NULL finds it.
    return sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _sql_type(column_type: ColumnType) -> sa.types.TypeEngine[Any]:
    match column_type:
        case ColumnType.INTEGER:
            # 64-bit on PostgreSQL (millisecond timestamps overflow INTEGER); SQLite's INTEGER is
            # already 64-bit and only "INTEGER PRIMARY KEY" autoincrements.
            return sa.BigInteger().with_variant(sa.Integer(), "sqlite")
        case ColumnType.STRING:
            return PortableString()
        case ColumnType.TEXT:
            return PortableText()
        case ColumnType.FLOAT:
            return sa.Float()
        case ColumnType.BOOLEAN:
            return sa.Boolean()
        case ColumnType.JSON:
            return json_type()
        case ColumnType.DATETIME:
            return UTCDateTime()
    raise ValueError(f"unknown column type {column_type!r}")


def build_column(name: str, column: Column) -> sa.Column[Any]:
    """One SQLAlchemy column; a single integer primary key autoincrements on both dialects."""
    return sa.Column(
        name,
        _sql_type(column.type),
        primary_key=column.primary_key,
        nullable=column.nullable and not column.primary_key,
        index=column.index,
        autoincrement="auto" if column.primary_key and column.type == ColumnType.INTEGER else False,
    )


def build_table(schema: TableSchema, metadata: sa.MetaData) -> sa.Table:
    """The Table for `schema`, declared in `metadata` (replacing an earlier declaration)."""
    columns = [build_column(name, column) for name, column in schema.columns.items()]
    if schema.owned:
        columns.append(sa.Column(OWNER_PRINCIPAL, PortableString(), index=True))
        columns.append(sa.Column(OWNER_ATTRIBUTES, json_type()))
    if schema.name in metadata.tables:
        metadata.remove(metadata.tables[schema.name])
    info = {RESOURCE_TYPE: schema.resource_type or schema.name} if schema.owned else {}
    return sa.Table(schema.name, metadata, *columns, info=info)


MIGRATIONS = TableSchema(
    name="polystack_migrations",
    columns={
        "component": Column(ColumnType.STRING, primary_key=True),
        "version": Column(ColumnType.INTEGER, primary_key=True),
        "applied_at": Column(ColumnType.DATETIME, nullable=False),
    },
)
