"""Background ingestion of files into a vector store: read, parse, chunk, embed, index; bounded and retried."""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from itertools import islice
from typing import IO, Any

from polystack.apis.errors import PolystackError, ProviderError, ServiceUnavailableError
from polystack.apis.inference.protocol import Inference
from polystack.apis.inference.types import EmbeddingsRequest
from polystack.apis.vector_io.index import Chunk, VectorIndex
from polystack.apis.vector_io.types import (
    ContextualChunkingStrategy,
    LastError,
    VectorStore,
    VectorStoreFile,
    windows_of,
)
from polystack.core.vector_stores.contextual import ContextualError, Contextualizer
from polystack.core.vector_stores.memory import release_free_memory
from polystack.core.vector_stores.records import VectorStoreRecords

logger = logging.getLogger("polystack.vector_io")

TRANSIENT = (ProviderError, ServiceUnavailableError)
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024  # OpenAI's upload limit, and the files providers' default


CHUNK_BATCH = 256  # chunks parsed, embedded and indexed at a time
StillWanted = Callable[[], Awaitable[bool]]
Superseded = Callable[[], bool]


class FileTooLarge(Exception):
    """A file over the ingestion limit: it fails alone, with a last_error that says so."""


class Abandoned(Exception):
    """The file was detached or its ingestion cancelled while it was being ingested."""


class Embedder:
    """Embeds texts with the store's model through the inference router, in batches, retrying hiccups."""

    def __init__(self, inference: Inference, batch_size: int = 32, attempts: int = 4) -> None:
        self.inference = inference
        self.batch_size = batch_size
        self.attempts = attempts

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            request = EmbeddingsRequest(model=model, input=batch)
            response = await self._with_retries(functools.partial(self.inference.embeddings, request))
            vectors += [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        return vectors

    async def _with_retries(self, call: Callable[[], Awaitable[Any]]) -> Any:
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except TRANSIENT as exc:
                if attempt == self.attempts:
                    raise
                logger.warning("embedding failed (attempt %d/%d): %s", attempt, self.attempts, exc.message)
                await asyncio.sleep(delay)
                delay *= 3
        raise AssertionError("unreachable")


class Ingestor:
    """Turns an attached file into indexed chunks; at most `concurrency` files are processed at once."""

    def __init__(self, files: Any, embedder: Embedder, records: VectorStoreRecords, *, concurrency: int = 2,
                 max_file_bytes: int | None = None, contextualizer: Contextualizer | None = None) -> None:
        self.files = files
        self.embedder = embedder
        self.records = records
        self.contextualizer = contextualizer
        self._slots = asyncio.Semaphore(concurrency)
        self.max_file_bytes = max_file_bytes or self.upload_limit(files)

    @staticmethod
    def upload_limit(files: Any) -> int:
        """The files provider's own limit, so that whatever the server accepts it can also ingest."""
        limit = getattr(getattr(files, "config", None), "max_upload_bytes", None)
        return limit if isinstance(limit, int) else DEFAULT_MAX_FILE_BYTES

    async def ingest(self, store: VectorStore, record: VectorStoreFile, index: VectorIndex,
                     still_wanted: StillWanted | None = None,
                     superseded: Superseded | None = None) -> VectorStoreFile | None:
        """The file record with its final status (its chunk texts are saved in the records), or None when
        `still_wanted` said, between batches, that the file was detached or cancelled meanwhile (possibly
        by another replica). Chunks of a file that does not complete are removed from the index, unless
        `superseded()` says another replica took the file over: its chunks are that replica's now."""
        from polystack.providers.utils.documents.parsing import DocumentError

        async with self._slots:
            try:
                meta = await self.files.get_file(record.id)
                self._check_size(meta.filename, meta.bytes)
                with tempfile.TemporaryFile(prefix="polystack-ingest-") as spool:
                    await self._spool(record.id, meta.filename, spool)
                    usage = await self._index_file(store, record, meta.filename, spool, index, still_wanted)
            except Abandoned:
                if superseded is None or not superseded():
                    await self._discard(store, record, index)
                return None
            except asyncio.CancelledError:
                if superseded is None or not superseded():
                    await self._discard(store, record, index)
                raise
            except Exception as exc:  # noqa: BLE001 - a bad file fails alone, never the batch or the server
                await self._discard(store, record, index)
                return self._failed(record, *self._last_error(record, exc, DocumentError))
            finally:
                await asyncio.to_thread(release_free_memory)
        return record.model_copy(update={"status": "completed", "usage_bytes": usage, "last_error": None})

    async def _index_file(self, store: VectorStore, record: VectorStoreFile, filename: str, spool: IO[bytes],
                          index: VectorIndex, still_wanted: StillWanted | None) -> int:
        """Parse, chunk, embed and index the file CHUNK_BATCH chunks at a time, reading it from disk as it goes:
        memory follows the batch, not the file (contextual chunking holds the document: each call sends it).
        Returns the bytes it uses: its chunk texts and their float32 vectors."""
        from polystack.providers.utils.documents.chunking import chunk_pieces
        from polystack.providers.utils.documents.file_text import file_text

        size, overlap = windows_of(record.chunking_strategy)
        pieces: Iterator[str] = file_text(spool, filename)
        document = None
        if isinstance(record.chunking_strategy, ContextualChunkingStrategy):
            if self.contextualizer is None:
                raise ContextualError("this server does not do contextual chunking")
            document = await asyncio.to_thread(self.contextualizer.read_document, pieces)
            pieces = iter([document])
        chunks = chunk_pieces(pieces, size, overlap)
        await index.delete_chunks(store.id, file_id=record.id)
        await self.records.delete_chunk_texts(store.id, record.id)
        usage, part = 0, 0
        while batch := await asyncio.to_thread(lambda: list(islice(chunks, CHUNK_BATCH))):
            if still_wanted is not None and not await still_wanted():
                raise Abandoned
            contents = [piece.text for piece in batch]
            if document is not None:
                contents = await self._situated(record, document, contents)
            vectors = await self.embedder.embed(store.embedding_model or "", contents)
            await index.add_chunks(store.id, [
                Chunk(chunk_id=f"{record.id}:{piece.index}", content=content, file_id=record.id, filename=filename,
                      attributes=dict(record.attributes), metadata={"index": piece.index, "tokens": piece.token_count})
                for piece, content in zip(batch, contents, strict=True)], vectors)
            await self.records.save_chunk_texts(store.id, record.id, part, contents)
            usage += sum(len(text.encode()) for text in contents) + 4 * len(vectors) * (store.embedding_dimension or 0)
            part += 1
        return usage

    @staticmethod
    def _last_error(record: VectorStoreFile, exc: Exception, document_error: type[Exception]) -> tuple[str, str]:
        """(code, message) of a failed file: what went wrong in words, never a traceback."""
        if isinstance(exc, FileTooLarge):
            return "invalid_file", str(exc)
        if isinstance(exc, document_error):
            return "unsupported_file", str(exc)
        if isinstance(exc, ContextualError):
            return "server_error", str(exc)
        if isinstance(exc, PolystackError):
            return "server_error", exc.message
        logger.error("ingesting %s into %s failed", record.id, record.vector_store_id, exc_info=exc)
        return "server_error", f"{type(exc).__name__}: {exc}"

    async def _discard(self, store: VectorStore, record: VectorStoreFile, index: VectorIndex) -> None:
        try:
            await index.delete_chunks(store.id, file_id=record.id)
            await self.records.delete_chunk_texts(store.id, record.id)
        except Exception:  # the file is failing already; leftover chunks are logged
            logger.exception("could not remove the chunks of file %s from %s", record.id, store.id)

    async def _situated(self, record: VectorStoreFile, document: str, texts: list[str]) -> list[str]:
        """The chunk texts, with their context first when the file is chunked contextually."""
        strategy = record.chunking_strategy
        if not isinstance(strategy, ContextualChunkingStrategy):
            return texts
        if self.contextualizer is None:
            raise ContextualError("this server does not do contextual chunking")
        return await self.contextualizer.situate(strategy.contextual, document, texts)

    def _check_size(self, filename: str, size: int) -> None:
        if size > self.max_file_bytes:
            raise FileTooLarge(f"'{filename}' is {size} bytes; vector stores ingest files of up to "
                               f"{self.max_file_bytes} bytes (vector_stores.max_file_bytes)")

    async def _spool(self, file_id: str, filename: str, spool: IO[bytes]) -> None:
        """Copy the file's bytes to `spool` (on disk) as they come, never past the limit."""
        size = 0
        async for part in await self.files.open_file_content(file_id):
            size += len(part)
            self._check_size(filename, size)  # the recorded size could be wrong
            await asyncio.to_thread(spool.write, part)
        await asyncio.to_thread(spool.seek, 0)

    @staticmethod
    def _failed(record: VectorStoreFile, code: str, message: str) -> VectorStoreFile:
        return record.model_copy(update={"status": "failed", "last_error": LastError(code=code, message=message)})  # type: ignore[arg-type]
