"""Contextual chunking (Llama Stack's contextual retrieval): a chat model situates each chunk in its document.

Each chunk is indexed as "<context>\n\n<chunk>", so both its embedding and its keywords carry what the
chunk alone does not say (which product, which section). The prompt is split at {{CHUNK_CONTENT}}: the
document goes in the system message, identical for every chunk, so providers can reuse its prefix cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass

from polystack.apis.errors import PolystackError
from polystack.apis.inference.protocol import Inference
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.apis.vector_io.types import CHUNK_CONTENT, WHOLE_DOCUMENT, ContextualChunking

logger = logging.getLogger("polystack.vector_io")


class ContextualError(Exception):
    """No chunk of the document could be situated; the message is meant for the file's last_error."""


@dataclass(frozen=True)
class ContextualDefaults:
    """The server's side of contextual chunking (vector_stores.contextual_retrieval_params)."""

    model: str | None = None
    timeout_seconds: float = 120
    max_concurrency: int = 3
    max_document_tokens: int = 100_000


class Contextualizer:
    def __init__(self, inference: Inference, defaults: ContextualDefaults) -> None:
        self.inference = inference
        self.defaults = defaults

    def read_document(self, pieces: Iterable[str]) -> str:
        """The whole document (every call sends it), read no further than the longest one allowed."""
        parts: list[str] = []
        length, limit = 0, 4 * self.defaults.max_document_tokens
        for piece in pieces:
            length += len(piece)
            if length > limit:
                raise ContextualError(self._too_long(f"over {self.defaults.max_document_tokens}"))
            parts.append(piece)
        return "".join(parts)

    def _too_long(self, estimate: str) -> str:
        return (f"the document is ~{estimate} tokens; contextual chunking takes documents of up to "
                f"{self.defaults.max_document_tokens} (vector_stores.contextual_retrieval_params.max_document_tokens)")

    async def situate(self, settings: ContextualChunking, document: str, chunks: list[str]) -> list[str]:
        """The chunks, each prefixed with its context. A chunk whose call fails keeps its text alone;
        when every call fails (or the document is too long to send), ContextualError."""
        model = settings.model_id or self.defaults.model
        if model is None:  # checked when the file was attached; a config change since then lands here
            raise ContextualError("contextual chunking has no model: name chunking_strategy.contextual.model_id "
                                  "or set vector_stores.contextual_retrieval_params.model")
        estimate = len(document) // 4
        if estimate > self.defaults.max_document_tokens:
            raise ContextualError(self._too_long(str(estimate)))
        cut = settings.context_prompt.index(CHUNK_CONTENT)
        system = settings.context_prompt[:cut].replace(WHOLE_DOCUMENT, document).rstrip()
        user = settings.context_prompt[cut:]
        slots = asyncio.Semaphore(settings.max_concurrency or self.defaults.max_concurrency)
        timeout = settings.timeout_seconds or self.defaults.timeout_seconds

        async def context_of(chunk: str) -> str | None:
            request = ChatCompletionRequest.model_validate({
                "model": model, "temperature": 0.0, "max_tokens": 256, "store": False,
                "messages": [{"role": "system", "content": system},
                             {"role": "user", "content": user.replace(CHUNK_CONTENT, chunk)}]})
            async with slots:
                try:
                    completion = await asyncio.wait_for(self.inference.chat_completion(request), timeout)
                except (PolystackError, TimeoutError) as exc:
                    logger.warning("contextual chunking with %s failed for a chunk: %s", model,
                                   getattr(exc, "message", None) or type(exc).__name__)
                    return None
            if isinstance(completion, AsyncIterable):  # the request does not stream
                raise TypeError("a non-streamed chat completion came back as a stream")
            return (completion.choices[0].message.content or "").strip() if completion.choices else ""

        contexts = await asyncio.gather(*(context_of(chunk) for chunk in chunks))
        if chunks and all(context is None for context in contexts):
            raise ContextualError(f"the model '{model}' could not situate any chunk of the document")
        return [f"{context}\n\n{chunk}" if context else chunk for context, chunk in zip(contexts, chunks, strict=True)]
