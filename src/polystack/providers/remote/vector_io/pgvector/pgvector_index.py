"""A VectorIndex on PostgreSQL with pgvector: every store, chunk and counter in the database, nothing cached.

So any number of replicas on one database agree at once: each call reads the catalogue row of its
store (a primary-key lookup) and works on that store's table. Writes to one store take turns on that
row (SELECT ... FOR UPDATE), which keeps the BM25 counters exact and makes replacing chunks race-free;
deleting the store deletes the row, so it waits for the store's writers, and DROP TABLE waits for its
readers. Queries run in no transaction: they see what was committed when they started.

A store is searched exactly (a scan) until it holds `hnsw_min_chunks`, then through its HNSW index,
built at that moment. The HNSW walk filters its candidates afterwards (pgvector 0.5-0.7); when it
comes back with fewer than k chunks, because a filter was selective or entries were deleted, the
same query runs exactly, so an answer is never short.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import asyncpg.exceptions as pg

from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError, ServiceUnavailableError
from polystack.apis.vector_io.index import AttributeValue, Chunk, Filter, ScoredChunk
from polystack.providers.remote.vector_io.pgvector import vector_codec
from polystack.providers.remote.vector_io.pgvector.bm25 import keyword_sql
from polystack.providers.remote.vector_io.pgvector.config import PgvectorConfig
from polystack.providers.remote.vector_io.pgvector.filter_sql import SqlParams, filter_sql
from polystack.providers.remote.vector_io.pgvector.schema import MAX_DIMENSIONS, Schema, StoreRow
from polystack.providers.utils.vector_index.unit_vectors import unit_rows

logger = logging.getLogger("polystack.vector_io.pgvector")

CONNECT_TIMEOUT_SECONDS = 10.0
MAX_EF_SEARCH = 1000  # pgvector's limit; a larger k is answered exactly
# A filtered walk keeps only the candidates that pass, so it gathers this many per wanted result.
FILTERED_CANDIDATES_PER_RESULT = 20
# The server or the network is gone (or refusing): a 503, and the pool reconnects later.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, pg.PostgresConnectionError, pg.CannotConnectNowError, pg.AdminShutdownError, pg.CrashShutdownError,
    pg.TooManyConnectionsError, pg.InvalidPasswordError, pg.InvalidAuthorizationSpecificationError,
    pg.InvalidCatalogNameError, TimeoutError,
)
_COLUMNS = "c.chunk_id, c.content, c.file_id, c.filename, c.attributes, c.metadata"


class PgvectorIndex:
    """Implements polystack.apis.vector_io.index.VectorIndex."""

    provider_id = "pgvector"

    def __init__(self, config: PgvectorConfig) -> None:
        self._config = config
        self._schema = Schema(config)
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> PgvectorIndex:
        """Connect, enable pgvector and create the catalogue if missing, then open the connection pool."""
        from polystack.core.storage.postgres_database import ensure_database

        await ensure_database(self._config)
        try:
            conn = await asyncpg.connect(**self._connect_args())
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        try:
            vector_schema = await self._schema.prepare(conn, self._config.address())
        finally:
            await conn.close()

        async def init(new: asyncpg.Connection) -> None:
            await vector_codec.register(new, vector_schema)

        try:
            self._pool = await asyncpg.create_pool(
                **self._connect_args(), init=init, min_size=self._config.pool_min_size,
                max_size=max(self._config.pool_max_size, self._config.pool_min_size))
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        return self

    def _connect_args(self) -> dict[str, Any]:
        password = self._config.password.get_secret_value() if self._config.password else None
        return {"host": self._config.host, "port": self._config.port, "database": self._config.db,
                "user": self._config.user, "password": password or None, "ssl": self._config.ssl_mode,
                "timeout": CONNECT_TIMEOUT_SECONDS}

    def _unavailable(self, cause: BaseException) -> ServiceUnavailableError:
        """A 503 naming the server, never the password (drivers may quote a DSN in their messages)."""
        detail = str(cause) or type(cause).__name__
        password = self._config.password.get_secret_value() if self._config.password else ""
        if password:
            detail = detail.replace(password, "***")
        return ServiceUnavailableError(f"Vector index pgvector at {self._config.address()} is unavailable: {detail}")

    @asynccontextmanager
    async def _connection(self, store_id: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; lost connections become 503s, and a store dropped meanwhile (by this or
        another replica) becomes not found."""
        if self._pool is None:
            raise ServiceUnavailableError("Vector index pgvector is not open.")
        try:
            async with self._pool.acquire() as conn:
                try:
                    yield conn
                except pg.InterfaceError as exc:  # "connection is closed", or a bug of ours: only the first is a 503
                    if conn.is_closed():
                        raise self._unavailable(exc) from exc
                    raise
        except pg.UndefinedTableError as exc:
            raise self._not_found(store_id) from exc
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc

    @asynccontextmanager
    async def _writing(self, store_id: str) -> AsyncIterator[tuple[asyncpg.Connection, StoreRow]]:
        """A transaction holding the store's catalogue row: the store's writers take turns."""
        async with self._connection(store_id) as conn, conn.transaction():
            yield conn, await self._store(conn, store_id, lock=" FOR UPDATE")

    async def _store(self, conn: asyncpg.Connection, store_id: str, lock: str = "",
                     ef_search: int | None = None) -> StoreRow:
        """The catalogue row; with `ef_search`, the same round trip sets hnsw.ef_search for the next query
        on this connection (every HNSW query sets it, so what a previous user left never matters)."""
        setting = ", set_config('hnsw.ef_search', $2, false)" if ef_search is not None else ""
        args = (store_id,) if ef_search is None else (store_id, str(ef_search))
        row = await conn.fetchrow(f"SELECT num, dimension, chunk_count, total_length, hnsw, text_search_config"
                                  f"{setting} FROM {self._schema.catalogue} WHERE store_id = $1{lock}", *args)
        if row is None:
            raise self._not_found(store_id)
        return StoreRow(row["num"], row["dimension"], row["chunk_count"], row["total_length"], row["hnsw"],
                        row["text_search_config"])

    def _not_found(self, store_id: str) -> NotFoundError:
        return NotFoundError(f"Vector store '{store_id}' has no index in provider '{self.provider_id}'.",
                             param="vector_store_id")

    async def create_store(self, store_id: str, dimension: int) -> None:
        if not 1 <= dimension <= MAX_DIMENSIONS:
            raise InvalidRequestError(f"dimension must be between 1 and {MAX_DIMENSIONS}, not {dimension}",
                                      param="dimension")
        async with self._connection(store_id) as conn, conn.transaction():
            text_search = self._config.text_search_config  # the store keeps it: its tsvector column depends on it
            num = await conn.fetchval(f"INSERT INTO {self._schema.catalogue} (store_id, dimension, text_search_config) "
                                      "VALUES ($1, $2, $3) ON CONFLICT (store_id) DO NOTHING RETURNING num",
                                      store_id, dimension, text_search)
            if num is not None:
                await self._schema.create_store_table(conn, num, dimension, text_search)
                if self._schema.wants_hnsw(StoreRow(num, dimension, 0, 0, False, text_search), 0):
                    await self._schema.build_hnsw(conn, num)
                return
            # It exists: ON CONFLICT waited for its creator to commit, so its row is visible now.
            existing = await conn.fetchval(f"SELECT dimension FROM {self._schema.catalogue} WHERE store_id = $1",
                                           store_id)
        if existing is None:
            raise ConflictError(f"Vector store '{store_id}' was deleted while being created; try again.")
        if existing != dimension:
            raise ConflictError(f"Vector store '{store_id}' exists with dimension {existing}, not {dimension}.")

    async def delete_store(self, store_id: str) -> None:
        """Idempotent: deleting an unknown store does nothing."""
        async with self._connection(store_id) as conn, conn.transaction():
            num = await conn.fetchval(f"DELETE FROM {self._schema.catalogue} WHERE store_id = $1 RETURNING num",
                                      store_id)
            if num is not None:
                await conn.execute(f"DROP TABLE IF EXISTS {self._schema.table(num)}")

    async def add_chunks(self, store_id: str, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        if len(chunks) != len(embeddings):
            raise InvalidRequestError(f"{len(chunks)} chunks but {len(embeddings)} embeddings", param="embeddings")
        if not chunks:
            return
        # Within one call the last chunk of an id wins, as if they had been added one after another.
        last = sorted({chunk.chunk_id: index for index, chunk in enumerate(chunks)}.values())
        vectors = unit_rows([embeddings[index] for index in last])
        records = [(chunk.chunk_id, chunk.file_id, chunk.filename, chunk.content, _json(chunk.attributes),
                    _json(chunk.metadata), vector) for chunk, vector in zip((chunks[i] for i in last), vectors,
                                                                            strict=True)]
        ids = [record[0] for record in records]
        async with self._writing(store_id) as (conn, store):
            _check_dimension(store_id, store, vectors.shape[1])
            table = self._schema.table(store.num)
            replaced = await conn.fetch(f"DELETE FROM {table} WHERE chunk_id = ANY($1::text[]) "
                                        "RETURNING length(content_tsv) AS length", ids)
            try:
                await conn.executemany(f"INSERT INTO {table} (chunk_id, file_id, filename, content, attributes, "
                                       "metadata, embedding) VALUES ($1, $2, $3, $4, $5, $6, $7)", records)
            except pg.DataError as exc:  # e.g. text PostgreSQL cannot store (NUL characters)
                raise InvalidRequestError(f"PostgreSQL refused a chunk: {exc}", param="chunks") from exc
            added = await conn.fetchval(f"SELECT coalesce(sum(length(content_tsv)), 0) FROM {table} "
                                        "WHERE chunk_id = ANY($1::text[])", ids)
            await self._count(conn, store, len(records) - len(replaced), added - _lengths(replaced))
            count = store.chunk_count + len(records) - len(replaced)
            if self._schema.wants_hnsw(store, count):
                logger.info("building the HNSW index of vector store %s (%d chunks)", store_id, count)
                await self._schema.build_hnsw(conn, store.num)

    async def _count(self, conn: asyncpg.Connection, store: StoreRow, chunks: int, length: int) -> None:
        await conn.execute(f"UPDATE {self._schema.catalogue} SET chunk_count = chunk_count + $2, "
                           "total_length = total_length + $3 WHERE num = $1", store.num, chunks, length)

    async def delete_chunks(self, store_id: str, *, file_id: str | None = None,
                            chunk_ids: list[str] | None = None) -> int:
        """Removes the file's chunks and the listed ones (either or both); returns how many were removed."""
        if file_id is None and chunk_ids is None:
            raise InvalidRequestError("delete_chunks needs a file_id or chunk_ids", param="file_id")
        async with self._writing(store_id) as (conn, store):
            removed = await conn.fetch(
                f"DELETE FROM {self._schema.table(store.num)} WHERE file_id = $1 OR chunk_id = ANY($2::text[]) "
                "RETURNING length(content_tsv) AS length", file_id, chunk_ids or [])
            await self._count(conn, store, -len(removed), -_lengths(removed))
        return len(removed)

    async def update_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None:
        text = _json(attributes)
        async with self._writing(store_id) as (conn, store):
            await conn.execute(f"UPDATE {self._schema.table(store.num)} SET attributes = $2 WHERE file_id = $1",
                               file_id, text)

    async def query_vector(self, store_id: str, embedding: list[float], k: int,
                           filters: Filter | None = None) -> list[ScoredChunk]:
        query = unit_rows([embedding])[0]
        wanted = k * FILTERED_CANDIDATES_PER_RESULT if filters is not None else k
        # Set in the lookup's round trip; harmless when the store turns out to have no HNSW index.
        ef_search = min(MAX_EF_SEARCH, max(self._config.hnsw_ef_search, wanted)) if k <= MAX_EF_SEARCH else None
        async with self._connection(store_id) as conn:
            store = await self._store(conn, store_id, ef_search=ef_search)
            _check_dimension(store_id, store, len(query))
            if k < 1 or store.chunk_count == 0:
                return []
            params = SqlParams(query, k)
            # Stored and query vectors have length 1, so their inner product (<#> is its negation) is the
            # cosine similarity, cheaper than 1 - cosine distance, and 0 rather than NaN for a zero vector.
            select = f"SELECT {_COLUMNS}, -(c.embedding <#> $1) AS score FROM {self._schema.table(store.num)} c " \
                     f"WHERE {filter_sql(filters, params)}"
            if store.hnsw and ef_search is not None:  # ordered by the distance operator, HNSW can serve it
                rows = await conn.fetch(f"{select} ORDER BY c.embedding <=> $1 LIMIT $2", *params.values)
                if len(rows) == k or (filters is None and len(rows) >= store.chunk_count):
                    return _scored(rows)
            # Ordered by the score, no index can serve it: an exact scan of the rows passing the filter.
            return _scored(await conn.fetch(f"{select} ORDER BY score DESC, c.chunk_id LIMIT $2", *params.values))

    async def query_keyword(self, store_id: str, query: str, k: int,
                            filters: Filter | None = None) -> list[ScoredChunk]:
        async with self._connection(store_id) as conn:
            store = await self._store(conn, store_id)
            if k < 1 or store.chunk_count == 0 or not query.strip():
                return []
            params = SqlParams(query, k, store.chunk_count, max(store.average_length, 1.0), store.text_search_config)
            sql = keyword_sql(self._schema.table(store.num), _COLUMNS, filter_sql(filters, params))
            return _scored(await conn.fetch(sql, *params.values))

    async def shutdown(self) -> None:
        """Idempotent. Every write already committed, so there is nothing to flush."""
        if self._pool is not None:
            await self._pool.close()


def _scored(rows: Iterable[asyncpg.Record]) -> list[ScoredChunk]:
    return [ScoredChunk(chunk=Chunk(chunk_id=row["chunk_id"], content=row["content"], file_id=row["file_id"],
                                    filename=row["filename"], attributes=json.loads(row["attributes"]),
                                    metadata=json.loads(row["metadata"])),
                        score=float(row["score"])) for row in rows]


def _lengths(rows: Sequence[asyncpg.Record]) -> int:
    return sum(row["length"] for row in rows)


def _json(value: dict[str, Any]) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError as exc:  # JSONB has no NaN or infinity
        raise InvalidRequestError(f"attributes and metadata must be finite numbers: {exc}", param="chunks") from exc


def _check_dimension(store_id: str, store: StoreRow, dimension: int) -> None:
    if dimension != store.dimension:
        raise InvalidRequestError(f"Vector store '{store_id}' holds {store.dimension}-dimensional vectors, "
                                  f"not {dimension}.", param="embedding")
