"""Vector stores, their files and file batches as rows of the SQL store."""

from __future__ import annotations

from typing import Any, Literal

from polystack.apis.errors import NotFoundError
from polystack.apis.vector_io.types import FileCounts, VectorStore, VectorStoreFile, VectorStoreFileBatch
from polystack.core.storage.sql.api import Column, ColumnType, Query, SQLStore, TableSchema

STORES = TableSchema("vector_stores", {
    "id": Column(ColumnType.STRING, primary_key=True, nullable=False),
    "created_at": Column(ColumnType.INTEGER, nullable=False, index=True),
    "data": Column(ColumnType.JSON, nullable=False),
}, owned=True, resource_type="vector_store")

FILES = TableSchema("vector_store_files", {
    "id": Column(ColumnType.STRING, primary_key=True, nullable=False),  # "<store>:<file>"
    "vector_store_id": Column(ColumnType.STRING, nullable=False, index=True),
    "file_id": Column(ColumnType.STRING, nullable=False),
    "batch_id": Column(ColumnType.STRING, index=True),
    "created_at": Column(ColumnType.INTEGER, nullable=False),
    "status": Column(ColumnType.STRING, nullable=False),
    "data": Column(ColumnType.JSON, nullable=False),
    "chunks": Column(ColumnType.JSON),  # before FILE_CHUNKS: all chunk texts in order, in the file's row
})

FILE_CHUNKS = TableSchema("vector_store_file_chunks", {
    "id": Column(ColumnType.STRING, primary_key=True, nullable=False),  # "<store>:<file>:<part>"
    "file_key": Column(ColumnType.STRING, nullable=False, index=True),  # "<store>:<file>"
    "part": Column(ColumnType.INTEGER, nullable=False),
    "texts": Column(ColumnType.JSON, nullable=False),  # one ingestion batch of chunk texts, in order
})

BATCHES = TableSchema("vector_store_file_batches", {
    "id": Column(ColumnType.STRING, primary_key=True, nullable=False),
    "vector_store_id": Column(ColumnType.STRING, nullable=False, index=True),
    "created_at": Column(ColumnType.INTEGER, nullable=False),
    "data": Column(ColumnType.JSON, nullable=False),
})


class VectorStoreRecords:
    """Reads and writes of store, file and batch rows; file counts are derived from the file rows.

    Store rows are owned (the SQL store enforces the access policy on them). A store's files and
    batches share their store's access: the router reaches files through `store()` (with `change=True`
    before changing them), and `batch()` checks the store itself."""

    def __init__(self, sql: SQLStore) -> None:
        self.sql = sql

    async def migrate(self) -> None:
        async def create_tables(store: SQLStore) -> None:
            for schema in (STORES, FILES, BATCHES):
                await store.create_table(schema)

        async def chunk_texts_by_batch(store: SQLStore) -> None:
            await store.create_table(FILE_CHUNKS)

        await self.sql.migrate("vector_stores", [create_tables, chunk_texts_by_batch])
        for schema in (STORES, FILES, BATCHES, FILE_CHUNKS):
            await self.sql.create_table(schema)

    # ---- stores -------------------------------------------------------------------------------

    async def insert_store(self, store: VectorStore) -> None:
        await self.sql.insert(STORES.name, {"id": store.id, "created_at": store.created_at,
                                            "data": store.model_dump(mode="json")})

    async def save_store(self, store: VectorStore) -> None:
        await self.sql.update(STORES.name, {"data": store.model_dump(mode="json")}, {"id": store.id})

    async def store(self, store_id: str, change: bool = False) -> VectorStore:
        """The store; with `change`, AccessDeniedError (403) unless the caller may also update it (its
        files, batches and chunks change with it), checked before the caller changes anything."""
        row = await self.sql.fetch_one(STORES.name, {"id": store_id})
        if row is not None and change:
            await self.sql.authorize(STORES.name, {"id": store_id}, "update")
        if row is None:  # also when the caller may not read it: never a hint that it exists
            raise NotFoundError(f"No vector store with id '{store_id}'", param="vector_store_id")
        store = VectorStore.model_validate(row["data"])
        store.file_counts = await self.file_counts(store_id)
        return store

    async def list_stores(self, *, after: str | None, limit: int, order: Literal["asc", "desc"]) -> tuple[
            list[VectorStore], bool]:
        page = await self.sql.fetch_all(STORES.name, Query(order_by=[("created_at", order)], limit=limit,
                                                            after=("id", after) if after else None))
        stores = [VectorStore.model_validate(row["data"]) for row in page.data]
        for store in stores:
            store.file_counts = await self.file_counts(store.id)
        return stores, page.has_more

    async def delete_store(self, store_id: str) -> None:
        """The store row goes first: the access policy may refuse (403), and then nothing else may go."""
        await self.sql.delete(STORES.name, {"id": store_id})
        files, _ = await self.list_files(store_id, after=None, limit=None, order="asc", status=None)
        for record in files:
            await self.delete_chunk_texts(store_id, record.id)
        await self.sql.delete(FILES.name, {"vector_store_id": store_id})
        await self.sql.delete(BATCHES.name, {"vector_store_id": store_id})

    # ---- files --------------------------------------------------------------------------------

    async def file_counts(self, store_id: str, batch_id: str | None = None) -> FileCounts:
        where: dict[str, Any] = {"vector_store_id": store_id}
        if batch_id:
            where["batch_id"] = batch_id
        counts = {status: await self.sql.count(FILES.name, {**where, "status": status})
                  for status in ("in_progress", "completed", "failed", "cancelled")}
        return FileCounts(**counts, total=sum(counts.values()))

    async def upsert_file(self, record: VectorStoreFile, batch_id: str | None = None,
                          chunks: list[str] | None = None) -> None:
        row = {"id": f"{record.vector_store_id}:{record.id}", "vector_store_id": record.vector_store_id,
               "file_id": record.id, "created_at": record.created_at, "status": record.status,
               "data": record.model_dump(mode="json")}
        if batch_id is not None:
            row["batch_id"] = batch_id
        if chunks is not None:
            row["chunks"] = chunks
        await self.sql.upsert(FILES.name, row, ["id"])

    async def file_row(self, store_id: str, file_id: str) -> dict[str, Any]:
        row = await self.sql.fetch_one(FILES.name, {"id": f"{store_id}:{file_id}"})
        if row is None:
            raise NotFoundError(f"No file '{file_id}' in vector store '{store_id}'", param="file_id")
        return row

    async def file(self, store_id: str, file_id: str) -> VectorStoreFile:
        return VectorStoreFile.model_validate((await self.file_row(store_id, file_id))["data"])

    async def list_files(self, store_id: str, *, after: str | None, limit: int | None, order: Literal["asc", "desc"],
                         status: str | None, batch_id: str | None = None) -> tuple[list[VectorStoreFile], bool]:
        where: dict[str, Any] = {"vector_store_id": store_id}
        if status:
            where["status"] = status
        if batch_id:
            where["batch_id"] = batch_id
        page = await self.sql.fetch_all(FILES.name, Query(
            where=where, order_by=[("created_at", order)], limit=limit,
            after=("id", f"{store_id}:{after}") if after else None))
        return [VectorStoreFile.model_validate(row["data"]) for row in page.data], page.has_more

    async def files_in_progress(self) -> list[tuple[str | None, VectorStoreFile]]:
        page = await self.sql.fetch_all(FILES.name, Query(where={"status": "in_progress"}))
        return [(row.get("batch_id"), VectorStoreFile.model_validate(row["data"])) for row in page.data]

    async def delete_file(self, store_id: str, file_id: str) -> None:
        await self.delete_chunk_texts(store_id, file_id)
        await self.sql.delete(FILES.name, {"id": f"{store_id}:{file_id}"})

    # ---- chunk texts (the file content route) ---------------------------------------------------

    async def save_chunk_texts(self, store_id: str, file_id: str, part: int, texts: list[str]) -> None:
        """One ingestion batch's chunk texts: a file's texts are written as they are made, never held whole."""
        row = {"id": f"{store_id}:{file_id}:{part}", "file_key": f"{store_id}:{file_id}", "part": part, "texts": texts}
        await self.sql.upsert(FILE_CHUNKS.name, row, ["id"])

    async def delete_chunk_texts(self, store_id: str, file_id: str) -> None:
        await self.sql.delete(FILE_CHUNKS.name, {"file_key": f"{store_id}:{file_id}"})

    async def chunk_texts(self, store_id: str, file_id: str) -> list[str]:
        """The file's chunk texts in order (those of files ingested before FILE_CHUNKS are in their row)."""
        page = await self.sql.fetch_all(FILE_CHUNKS.name, Query(where={"file_key": f"{store_id}:{file_id}"},
                                                                order_by=[("part", "asc")]))
        if page.data:
            return [text for row in page.data for text in row["texts"]]
        return list((await self.file_row(store_id, file_id)).get("chunks") or [])

    # ---- batches ------------------------------------------------------------------------------

    async def save_batch(self, batch: VectorStoreFileBatch, *, new: bool = False) -> None:
        row = {"id": batch.id, "vector_store_id": batch.vector_store_id, "created_at": batch.created_at,
               "data": batch.model_dump(mode="json")}
        if new:
            await self.sql.insert(BATCHES.name, row)
        else:
            await self.sql.update(BATCHES.name, {"data": row["data"]}, {"id": batch.id})

    async def batch(self, store_id: str, batch_id: str) -> VectorStoreFileBatch:
        row = await self.sql.fetch_one(BATCHES.name, {"id": batch_id})
        store = await self.sql.fetch_one(STORES.name, {"id": store_id})  # the store decides who sees its batches
        if row is None or row["vector_store_id"] != store_id or store is None:
            raise NotFoundError(f"No file batch '{batch_id}' in vector store '{store_id}'", param="batch_id")
        batch = VectorStoreFileBatch.model_validate(row["data"])
        batch.file_counts = await self.file_counts(store_id, batch_id)
        return batch
