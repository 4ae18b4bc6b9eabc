"""FilesMetadata: the `files` table (one owned row per file) in a SQL store, shared by every files provider."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from polystack.apis.files.types import FileObject, FilePurpose
from polystack.core.storage.backends import Storage
from polystack.core.storage.config import SqliteSQLConfig, SQLStoreReference
from polystack.core.storage.sql.api import Column, ColumnType, Page, Query, SQLStore, TableSchema

DEFAULT_TABLE = "files"


def files_schema(table: str) -> TableSchema:
    return TableSchema(table, {
        "id": Column(ColumnType.STRING, primary_key=True, nullable=False),
        "purpose": Column(ColumnType.STRING, nullable=False, index=True),
        "filename": Column(ColumnType.TEXT, nullable=False),
        "bytes": Column(ColumnType.INTEGER, nullable=False),
        "created_at": Column(ColumnType.INTEGER, nullable=False, index=True),
        "expires_at": Column(ColumnType.INTEGER),
        # The store filters by equality only: this flag lets the sweep select files that expire at all,
        # ordered by expires_at, without reading the ones kept forever.
        "expiring": Column(ColumnType.BOOLEAN, nullable=False, index=True),
        "storage_key": Column(ColumnType.TEXT, nullable=False),
    }, owned=True, resource_type="file")


@dataclass(frozen=True)
class FileRecord:
    """One file's row: its OpenAI fields and where its bytes are (`storage_key`, provider-defined)."""

    id: str
    purpose: str
    filename: str
    bytes: int
    created_at: int
    expires_at: int | None
    storage_key: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FileRecord:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def to_file(self) -> FileObject:
        return FileObject(id=self.id, bytes=self.bytes, created_at=self.created_at, expires_at=self.expires_at,
                          filename=self.filename, purpose=FilePurpose(self.purpose))


class FilesMetadata:
    """Rows of the files table; which ones a caller sees is the SQL store's access policy's business."""

    def __init__(self, store: SQLStore, table: str = DEFAULT_TABLE) -> None:
        self.store = store
        self.table = table

    async def create_table(self) -> None:
        await self.store.create_table(files_schema(self.table))

    async def insert(self, record: FileRecord) -> None:
        """The row belongs to the caller (the store sets the owner)."""
        row = {**asdict(record), "expiring": record.expires_at is not None}
        await self.store.insert(self.table, row)

    async def get(self, file_id: str) -> FileRecord | None:
        """None also when the caller may not read it."""
        row = await self.store.fetch_one(self.table, {"id": file_id})
        if row is None:
            return None
        return FileRecord.from_row(row)

    async def page(self, *, after: str | None, limit: int, order: Literal["asc", "desc"],
                   purpose: str | None) -> tuple[list[FileRecord], bool]:
        """Up to `limit` records after the file `after`, by creation time (then id), and whether more follow."""
        query = Query(where={"purpose": purpose} if purpose else {}, order_by=[("created_at", order)],
                      after=("id", after) if after else None, limit=limit)
        page: Page = await self.store.fetch_all(self.table, query)
        return [FileRecord.from_row(row) for row in page.data], page.has_more

    async def delete(self, file_id: str) -> bool:
        return await self.store.delete(self.table, {"id": file_id}) > 0

    async def expired(self, now: float, limit: int = 100) -> list[FileRecord]:
        """Expired records, soonest first (whoever owns them): what the sweep deletes."""
        page = await self.store.fetch_all(self.table, Query(where={"expiring": True},
                                                            order_by=[("expires_at", "asc")], limit=limit))
        return [record for record in map(FileRecord.from_row, page.data) if record.expired(now)]


async def open_files_metadata(reference: SQLStoreReference | None, storage: Storage | None,
                              fallback_db: Path | None) -> tuple[FilesMetadata, SQLStore | None]:
    """The metadata in the store `reference` names, else in a SQLite file of the provider's own.

    Returns the metadata and, for the fallback, the store the provider opened (and must close).
    """
    if reference is not None:
        backends = storage.config.backends if storage is not None else {}
        backend = backends.get(reference.backend)
        if storage is None or backend is None:
            known = ", ".join(sorted(backends)) or "none defined"
            raise ValueError(f"metadata_store uses backend '{reference.backend}', which is not defined under "
                             f"storage.backends ({known})")
        if not backend.type.startswith("sql_"):
            raise ValueError(f"metadata_store needs a sql_* backend, but '{reference.backend}' is {backend.type}")
        return FilesMetadata(await storage.sql(reference), reference.table_name or DEFAULT_TABLE), None
    if fallback_db is None:
        raise ValueError("metadata_store is required: name a sql_* backend of storage.backends")
    from polystack.core.storage.sql.factory import open_sql_store

    store = await open_sql_store(SqliteSQLConfig(db_path=str(fallback_db)))
    return FilesMetadata(store), store
