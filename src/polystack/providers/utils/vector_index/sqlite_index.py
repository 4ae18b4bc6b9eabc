"""A VectorIndex kept durably in one SQLite file and searched in memory: the body of inline::sqlite-vec and faiss.

A write is one SQLite transaction (chunks, FTS5, embeddings) followed by the catch-up of the in-memory
state (StoreRows and the provider's VectorSearcher) with the file (changes.py): the same path applies this
process's writes and those of other processes on the file, in commit order, by watermarks. The SQL runs
while the store's queries go on (WAL readers); only COMMIT and the catch-up hold the store's lock, which a
query holds throughout, so it sees a write entirely or not at all; a query first applies what other
processes committed (one tiny read when nothing). A failed transaction leaves memory untouched.
Locks are taken in one order: the sync lock, then a store's lock. Blocking work runs in
this index's own threads. Vector queries have their own, by default one: an in-memory scan is
memory-bound and BLAS already spreads it over every core, so parallel scans only slow each other,
and always calling BLAS from the same warm thread cut the p95 at 100,000 x 384 from ~16 to ~11 ms.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np

from polystack.apis.errors import ConflictError, InvalidRequestError, NotFoundError, ProviderError
from polystack.apis.vector_io.index import AttributeValue, Chunk, Filter, ScoredChunk
from polystack.providers.utils.vector_index.changes import Changes, Marks, StoreChanges, current_marks, read_changes
from polystack.providers.utils.vector_index.chunk_store import ChunkStore, StoredStore
from polystack.providers.utils.vector_index.database import Database
from polystack.providers.utils.vector_index.keyword import fts_match
from polystack.providers.utils.vector_index.searcher import VectorSearcher
from polystack.providers.utils.vector_index.store_rows import StoreRows
from polystack.providers.utils.vector_index.unit_vectors import unit_rows

T = TypeVar("T")
logger = logging.getLogger(__name__)
SearcherFactory = Callable[[StoredStore, StoreRows], VectorSearcher]


@dataclass
class _Store:
    info: StoredStore
    rows: StoreRows
    searcher: VectorSearcher
    lock: threading.Lock = field(default_factory=threading.Lock)
    deleted: bool = False


class SQLiteVectorIndex:
    """Implements polystack.apis.vector_io.index.VectorIndex; the provider supplies the search and the vector table."""

    def __init__(self, provider_id: str, database: Database, chunks: ChunkStore, new_searcher: SearcherFactory,
                 *, threads: int = 4, search_threads: int = 1, min_dead_to_compact: int = 1024) -> None:
        self.provider_id = provider_id
        self._db = database
        self._chunks = chunks
        self._new_searcher = new_searcher
        self._min_dead_to_compact = min_dead_to_compact
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"vector-index-{provider_id}")
        self._search_executor = ThreadPoolExecutor(max_workers=search_threads,
                                                   thread_name_prefix=f"vector-search-{provider_id}")
        self._stores: dict[str, _Store] = {}
        self._closed = False
        self._marks = Marks()  # how far memory follows the file (changes.py)
        self._loaded = False
        self._sync_lock = threading.Lock()  # taken before any store's lock

    async def open(self) -> SQLiteVectorIndex:
        """Create the file and schema if missing, and load every store into memory (in a thread)."""
        try:
            await self._run(self._open)
        except BaseException:
            await self.shutdown()
            raise
        return self

    def _open(self) -> None:
        self._db.open()
        self._db.write(self._chunks.create_schema)
        with self._sync_lock:
            self._catch_up_locked()

    def _sync(self) -> None:
        """Apply what was committed since this process last looked (by it or another): one tiny read if nothing."""
        with self._db.reader() as conn:
            if current_marks(conn) == self._marks:
                return
        with self._sync_lock:
            self._catch_up_locked()

    def _catch_up_locked(self, held: _Store | None = None, known: tuple[list[int], np.ndarray] | None = None) -> None:
        """Under the sync lock (and `held`'s lock, if given): read one snapshot, apply it to memory.

        `known` is the rows and vectors this process just inserted: read back from vec0 they would cost a
        point lookup each.
        """
        with self._db.reader() as conn:
            conn.execute("BEGIN")
            try:
                # The first load reads every row; the change log before it is history.
                changes = read_changes(conn, self._marks) if self._loaded else Changes(current_marks(conn), True)
                if changes.marks == self._marks and self._loaded:
                    return
                if changes.catalogue_changed:
                    self._apply_catalogue(self._chunks.stores(conn), held)
                added = self._read_added(conn, changes.marks, known) if changes.marks.row > self._marks.row else {}
            finally:
                conn.execute("COMMIT")
        for store in list(self._stores.values()):
            num = store.info.num
            if num in added or num in changes.stores:
                with nullcontext() if store is held else store.lock:
                    self._apply(store, added.get(num), changes.stores.get(num))
        self._marks, self._loaded = changes.marks, True

    def _apply_catalogue(self, stores: list[StoredStore], held: _Store | None) -> None:
        current = {info.store_id: info for info in stores}
        for store_id, store in list(self._stores.items()):
            if current.get(store_id) != store.info:  # deleted, or deleted and created again
                with nullcontext() if store is held else store.lock:
                    store.deleted = True
                    del self._stores[store_id]
                    store.searcher.discard()
        for store_id, info in current.items():
            if store_id not in self._stores:
                rows = StoreRows(self._min_dead_to_compact)
                self._stores[store_id] = _Store(info, rows, self._new_searcher(info, rows))

    def _read_added(self, conn: Any, marks: Marks,
                    known: tuple[list[int], np.ndarray] | None) -> dict[int, tuple[list[int], list[Any], Any]]:
        """Rows above the row mark, per store num: (rows, attributes, vectors or None if the searcher reads them)."""
        added: dict[int, tuple[list[int], list[Any], Any]] = {}
        for store in self._stores.values():
            rows, attributes = self._chunks.attributes(conn, store.info, after=self._marks.row)
            if not rows:
                continue
            vectors = None
            if store.searcher.holds_vectors:
                if known is not None and rows == known[0]:
                    vectors = known[1]
                else:
                    vector_rows, vectors = self._chunks.embeddings.load(conn, store.info, after=self._marks.row)
                    if not np.array_equal(vector_rows, rows):
                        raise ProviderError(self.provider_id, f"store '{store.info.store_id}': chunks and "
                                            f"embeddings differ in {self._db.path}")
            added[store.info.num] = (rows, attributes, vectors)
        return added

    def _apply(self, store: _Store, added: tuple[list[int], list[Any], Any] | None,
               changed: StoreChanges | None) -> None:
        if changed is not None:
            store.rows.remove(changed.removed)
            for attributes, changed_rows in changed.attributes.values():
                store.rows.set_attributes(changed_rows, attributes)
        if added is not None:
            rows, attributes_of_rows, vectors = added
            store.rows.append(rows, attributes_of_rows)
            if vectors is not None:
                store.searcher.add(vectors)
        if store.rows.should_compact:
            store.searcher.compact(store.rows.compact())

    async def _run(self, fn: Callable[..., T], *args: Any, executor: ThreadPoolExecutor | None = None) -> T:
        if self._closed:
            raise ProviderError(self.provider_id, "the vector index is shut down")
        try:
            return await asyncio.get_running_loop().run_in_executor(executor or self._executor, fn, *args)
        except self._db.sqlite.DatabaseError as exc:  # locked, disk full, corrupt file
            raise ProviderError(self.provider_id, f"SQLite error on {self._db.path}: {exc}") from exc

    def _store(self, store_id: str, *, synced: bool = False) -> _Store:
        store = self._stores.get(store_id)
        if (store is None or store.deleted) and not synced:
            self._sync()  # perhaps created by another process
            return self._store(store_id, synced=True)
        if store is None or store.deleted:
            raise NotFoundError(f"Vector store '{store_id}' has no index in provider '{self.provider_id}'.",
                                param="vector_store_id")
        return store

    def _locked(self, store_id: str) -> _Store:
        """The store, caught up and with its lock held, for a query; the caller releases it."""
        self._sync()
        store = self._store(store_id)
        store.lock.acquire()
        if store.deleted:
            store.lock.release()
            return self._locked(store_id)  # raises NotFoundError unless it was created again meanwhile
        return store

    @contextmanager
    def _publishing(self, store: _Store | None) -> Iterator[None]:
        """Held across COMMIT and the catch-up after it: the sync lock, then the written store's lock."""
        with self._sync_lock, nullcontext() if store is None else store.lock:
            yield

    def _write(self, store_id: str, work: Callable[[Any, _Store], T],
               known: Callable[[T], tuple[list[int], np.ndarray]] | None = None) -> T:
        """`work` (SQL) runs while the store's queries go on; COMMIT and the catch-up of memory hold its lock."""
        store = self._store(store_id)

        def checked_work(conn: Any) -> T:
            # Under the file's write lock: what another call or process committed first is applied here.
            self._sync()
            if self._stores.get(store_id) is not store:
                raise NotFoundError(f"Vector store '{store_id}' was deleted meanwhile.", param="vector_store_id")
            return work(conn, store)

        def publish(result: T) -> None:
            self._catch_up_locked(store, None if known is None else known(result))

        return self._db.write(checked_work, publish, self._publishing(store))

    async def create_store(self, store_id: str, dimension: int) -> None:
        if dimension < 1:
            raise InvalidRequestError(f"dimension must be positive, not {dimension}", param="dimension")
        await self._run(self._db.write, partial(self._create_store, store_id, dimension),
                        lambda _: self._catch_up_locked(), self._publishing(None))

    def _create_store(self, store_id: str, dimension: int, conn: Any) -> None:
        # The file, not memory, says whether it exists: another process may have created it.
        existing = next((info for info in self._chunks.stores(conn) if info.store_id == store_id), None)
        if existing is None:
            self._chunks.create_store(conn, store_id, dimension)
        elif existing.dimension != dimension:
            raise ConflictError(f"Vector store '{store_id}' exists with dimension {existing.dimension}, "
                                f"not {dimension}.")

    async def delete_store(self, store_id: str) -> None:
        """Idempotent: deleting an unknown store does nothing."""
        await self._run(self._delete_store, store_id)

    def _delete_store(self, store_id: str) -> None:
        try:
            self._write(store_id, lambda conn, store: self._chunks.delete_store(conn, store.info))
        except NotFoundError:
            pass  # unknown, or deleted meanwhile by another call

    async def add_chunks(self, store_id: str, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        if len(chunks) != len(embeddings):
            raise InvalidRequestError(f"{len(chunks)} chunks but {len(embeddings)} embeddings", param="embeddings")
        if chunks:
            await self._run(self._add_chunks, store_id, chunks, embeddings)

    def _add_chunks(self, store_id: str, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        # Within one call the last chunk of an id wins, as if they had been added one after another.
        last = sorted({chunk.chunk_id: index for index, chunk in enumerate(chunks)}.values())
        chunks = [chunks[index] for index in last]
        vectors = unit_rows([embeddings[index] for index in last])
        _check_dimension(self._store(store_id).info, vectors.shape[1])

        def work(conn: Any, store: _Store) -> list[int]:
            replaced = self._chunks.rows_of_chunks(conn, store.info, [chunk.chunk_id for chunk in chunks])
            self._chunks.delete_rows(conn, store.info, replaced)
            return self._chunks.insert(conn, store.info, chunks, vectors)

        self._write(store_id, work, lambda rows: (rows, vectors))

    async def delete_chunks(self, store_id: str, *, file_id: str | None = None,
                            chunk_ids: list[str] | None = None) -> int:
        """Removes the file's chunks and the listed ones (either or both); returns how many were removed."""
        if file_id is None and chunk_ids is None:
            raise InvalidRequestError("delete_chunks needs a file_id or chunk_ids", param="file_id")
        return await self._run(self._delete_chunks, store_id, file_id, chunk_ids or [])

    def _delete_chunks(self, store_id: str, file_id: str | None, chunk_ids: list[str]) -> int:
        def work(conn: Any, store: _Store) -> list[int]:
            rows = set(self._chunks.rows_of_chunks(conn, store.info, chunk_ids))
            if file_id is not None:
                rows.update(self._chunks.rows_of_file(conn, store.info, file_id))
            self._chunks.delete_rows(conn, store.info, sorted(rows))
            return sorted(rows)

        return len(self._write(store_id, work))

    async def update_attributes(self, store_id: str, file_id: str, attributes: dict[str, AttributeValue]) -> None:
        await self._run(self._write, store_id,
                        lambda conn, store: self._chunks.set_attributes(conn, store.info, file_id, attributes))

    async def query_vector(self, store_id: str, embedding: list[float], k: int,
                           filters: Filter | None = None) -> list[ScoredChunk]:
        query = unit_rows([embedding])[0]
        if k < 1:
            return []
        return await self._run(self._query_vector, store_id, query, k, filters, executor=self._search_executor)

    def _query_vector(self, store_id: str, query: np.ndarray, k: int, filters: Filter | None) -> list[ScoredChunk]:
        store = self._locked(store_id)
        try:
            _check_dimension(store.info, len(query))
            mask = store.rows.mask(filters)
            if store.rows.live == 0 or (mask is not None and not mask.any()):
                return []
            positions, scores = store.searcher.search(query, k, mask)
            return self._scored(store.rows.rows_at(positions), scores.tolist())
        finally:
            store.lock.release()

    async def query_keyword(self, store_id: str, query: str, k: int,
                            filters: Filter | None = None) -> list[ScoredChunk]:
        match = fts_match(query)
        if match is None or k < 1:
            return []
        return await self._run(self._query_keyword, store_id, match, k, filters)

    def _query_keyword(self, store_id: str, match: str, k: int, filters: Filter | None) -> list[ScoredChunk]:
        store = self._locked(store_id)
        try:
            mask = store.rows.mask(filters) if filters is not None else None
            hits: list[tuple[int, float]] = []
            with self._db.reader() as conn:
                # Without a filter SQLite stops at k; with one, walk the ranked matches until k pass it.
                for row, score in self._chunks.keyword_hits(conn, store.info, match, k if mask is None else None):
                    position = store.rows.position_of(row)
                    if mask is None or (position is not None and mask[position]):
                        hits.append((row, score))
                        if len(hits) == k:
                            break
            return self._scored([row for row, _ in hits], [score for _, score in hits])
        finally:
            store.lock.release()

    def _scored(self, rows: Sequence[int], scores: Sequence[float]) -> list[ScoredChunk]:
        with self._db.reader() as conn:
            chunks = self._chunks.fetch(conn, rows)
        return [ScoredChunk(chunk=chunks[row], score=float(score)) for row, score in zip(rows, scores, strict=True)]

    async def shutdown(self) -> None:
        """Idempotent. Every write already committed; only derived state (ANN graphs) is saved, to start faster."""
        if self._closed:
            return
        self._closed = True
        for executor in (self._search_executor, self._executor):
            await asyncio.to_thread(executor.shutdown, wait=True)  # lets running calls finish
        await asyncio.to_thread(self._save_searchers)
        await asyncio.to_thread(self._db.close)

    def _save_searchers(self) -> None:
        for store in list(self._stores.values()):
            try:
                store.searcher.save()
            except OSError as exc:  # derived state: the next start rebuilds it
                logger.warning("could not save the index of store '%s': %s", store.info.store_id, exc)


def _check_dimension(info: StoredStore, dimension: int) -> None:
    if dimension != info.dimension:
        raise InvalidRequestError(f"Vector store '{info.store_id}' holds {info.dimension}-dimensional vectors, "
                                  f"not {dimension}.", param="embedding")
