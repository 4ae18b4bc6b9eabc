"""Background ingestion of files into a vector store: read, parse, chunk, embed, index; bounded and retried."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from polystack.apis.errors import PolystackError, ProviderError, ServiceUnavailableError
from polystack.apis.inference.types import EmbeddingsRequest
from polystack.apis.vector_io.index import Chunk, VectorIndex
from polystack.apis.vector_io.types import LastError, VectorStore, VectorStoreFile

logger = logging.getLogger("polystack.vector_io")

TRANSIENT = (ProviderError, ServiceUnavailableError)


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
                 max_file_bytes: int = 256 * 1024 * 1024) -> None:
        self.files = files
        self.embedder = embedder
        self._slots = asyncio.Semaphore(concurrency)
        self.max_file_bytes = max_file_bytes

    async def ingest(self, store: VectorStore, record: VectorStoreFile, index: VectorIndex) -> tuple[
            VectorStoreFile, list[str]]:
        """The file record with its final status, and the chunk texts (empty when it failed)."""
        from polystack.providers.utils.documents.chunking import chunk_text
        from polystack.providers.utils.documents.parsing import DocumentError, extract_text

        async with self._slots:
            try:
                meta = await self.files.get_file(record.id)
                content = await self._read(record.id)
                text = await asyncio.to_thread(extract_text, content, meta.filename, None)
                static = record.chunking_strategy.static
                pieces = await asyncio.to_thread(chunk_text, text, static.max_chunk_size_tokens,
                                                 static.chunk_overlap_tokens)
                texts = [piece.text for piece in pieces]
                vectors = await self.embedder.embed(store.embedding_model or "", texts)
                chunks = [Chunk(chunk_id=f"{record.id}:{piece.index}", content=piece.text, file_id=record.id,
                                filename=meta.filename, attributes=dict(record.attributes),
                                metadata={"index": piece.index, "tokens": piece.token_count})
                          for piece in pieces]
                await index.delete_chunks(store.id, file_id=record.id)
                await index.add_chunks(store.id, chunks, vectors)
            except DocumentError as exc:
                return self._failed(record, "unsupported_file", str(exc)), []
            except PolystackError as exc:
                return self._failed(record, "server_error", exc.message), []
            except Exception as exc:  # noqa: BLE001 - a bad file fails alone, never the batch or the server
                logger.exception("ingesting %s into %s failed", record.id, store.id)
                return self._failed(record, "server_error", f"{type(exc).__name__}: {exc}"), []
        usage = sum(len(t.encode()) for t in texts) + 4 * len(vectors) * (store.embedding_dimension or 0)
        return record.model_copy(update={"status": "completed", "usage_bytes": usage, "last_error": None}), texts

    async def _read(self, file_id: str) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for part in await self.files.open_file_content(file_id):
            size += len(part)
            if size > self.max_file_bytes:
                raise ValueError(f"the file is larger than {self.max_file_bytes} bytes")
            parts.append(part)
        return b"".join(parts)

    @staticmethod
    def _failed(record: VectorStoreFile, code: str, message: str) -> VectorStoreFile:
        return record.model_copy(update={"status": "failed", "last_error": LastError(code=code, message=message)})  # type: ignore[arg-type]
