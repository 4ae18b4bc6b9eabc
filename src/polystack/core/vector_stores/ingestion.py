"""Background ingestion of files into a vector store: read, parse, chunk, embed, index; bounded and retried."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from polystack.apis.errors import PolystackError, ProviderError, ServiceUnavailableError
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

logger = logging.getLogger("polystack.vector_io")

TRANSIENT = (ProviderError, ServiceUnavailableError)
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024  # OpenAI's upload limit, and the files providers' default


class FileTooLarge(Exception):
    """A file over the ingestion limit: it fails alone, with a last_error that says so."""


class Embedder:
    """Embeds texts with the store's model through the inference router, in batches, retrying hiccups."""

    def __init__(self, inference: Any, batch_size: int = 32, attempts: int = 4) -> None:
        self.inference = inference
        self.batch_size = batch_size
        self.attempts = attempts

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            response = await self._with_retries(
                lambda b=batch: self.inference.embeddings(EmbeddingsRequest(model=model, input=b)))
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

    def __init__(self, files: Any, embedder: Embedder, *, concurrency: int = 2,
                 max_file_bytes: int | None = None, contextualizer: Contextualizer | None = None) -> None:
        self.files = files
        self.embedder = embedder
        self.contextualizer = contextualizer
        self._slots = asyncio.Semaphore(concurrency)
        self.max_file_bytes = max_file_bytes or self.upload_limit(files)

    @staticmethod
    def upload_limit(files: Any) -> int:
        """The files provider's own limit, so that whatever the server accepts it can also ingest."""
        limit = getattr(getattr(files, "config", None), "max_upload_bytes", None)
        return limit if isinstance(limit, int) else DEFAULT_MAX_FILE_BYTES

    async def ingest(self, store: VectorStore, record: VectorStoreFile, index: VectorIndex) -> tuple[
            VectorStoreFile, list[str]]:
        """The file record with its final status, and the chunk texts (empty when it failed)."""
        from polystack.providers.utils.documents.chunking import chunk_text
        from polystack.providers.utils.documents.parsing import DocumentError

        async with self._slots:
            try:
                meta = await self.files.get_file(record.id)
                self._check_size(meta.filename, meta.bytes)
                text = await self._text(record.id, meta.filename)
                size, overlap = windows_of(record.chunking_strategy)
                pieces = await asyncio.to_thread(chunk_text, text, size, overlap)
                texts = await self._situated(record, text, [piece.text for piece in pieces])
                vectors = await self.embedder.embed(store.embedding_model or "", texts)
                chunks = [Chunk(chunk_id=f"{record.id}:{piece.index}", content=content, file_id=record.id,
                                filename=meta.filename, attributes=dict(record.attributes),
                                metadata={"index": piece.index, "tokens": piece.token_count})
                          for piece, content in zip(pieces, texts, strict=True)]
                await index.delete_chunks(store.id, file_id=record.id)
                await index.add_chunks(store.id, chunks, vectors)
            except FileTooLarge as exc:
                return self._failed(record, "invalid_file", str(exc)), []
            except ContextualError as exc:
                return self._failed(record, "server_error", str(exc)), []
            except DocumentError as exc:
                return self._failed(record, "unsupported_file", str(exc)), []
            except PolystackError as exc:
                return self._failed(record, "server_error", exc.message), []
            except Exception as exc:  # noqa: BLE001 - a bad file fails alone, never the batch or the server
                logger.exception("ingesting %s into %s failed", record.id, store.id)
                return self._failed(record, "server_error", f"{type(exc).__name__}: {exc}"), []
        usage = sum(len(t.encode()) for t in texts) + 4 * len(vectors) * (store.embedding_dimension or 0)
        return record.model_copy(update={"status": "completed", "usage_bytes": usage, "last_error": None}), texts

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

    async def _text(self, file_id: str, filename: str) -> str:
        """The file's text, parsed from a temporary copy on disk: the bytes never sit in memory whole
        (a PDF is read from the disk page by page)."""
        from polystack.providers.utils.documents.parsing import extract_file_text

        with tempfile.TemporaryFile(prefix="polystack-ingest-") as spool:
            size = 0
            async for part in await self.files.open_file_content(file_id):
                size += len(part)
                self._check_size(filename, size)  # the recorded size could be wrong: never read past the limit
                await asyncio.to_thread(spool.write, part)
            await asyncio.to_thread(spool.seek, 0)
            return await asyncio.to_thread(extract_file_text, spool, filename, None)

    @staticmethod
    def _failed(record: VectorStoreFile, code: str, message: str) -> VectorStoreFile:
        return record.model_copy(update={"status": "failed", "last_error": LastError(code=code, message=message)})  # type: ignore[arg-type]
