"""Local embedding providers: the Inference adapter over a sentence encoder, and its pieces.

Each local embedding provider brings only its encoder (texts in, unit vectors out); input checks,
`dimensions`, base64, batching off the event loop and the OpenAI response live here once.
Only provider factories import this module, so numpy at the top costs a stack without one nothing.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Iterator, Sequence, Sized
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from polystack.apis.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    PolystackError,
    ProviderError,
    ServiceUnavailableError,
    UnsupportedParameterError,
)
from polystack.apis.inference.results import EmbeddingUsage
from polystack.apis.inference.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    Embedding,
    EmbeddingsRequest,
)
from polystack.apis.models.types import ModelType, ProviderModel
from polystack.apis.providers.types import HealthStatus


@dataclass(frozen=True)
class Encoded:
    """Unit vectors (one row per input) and how many tokens the model read for each input."""

    vectors: np.ndarray
    token_counts: list[int]


class SentenceEncoder(Protocol):
    """What a local embedding provider implements: blocking calls, run in worker threads."""

    dimension: int
    max_tokens: int
    vocab_size: int
    supports_token_ids: bool

    def encode_texts(self, texts: Sequence[str]) -> Encoded:
        """Unit vectors for texts, each cut at `max_tokens`."""
        ...

    def encode_ids(self, inputs: Sequence[Sequence[int]]) -> Encoded:
        """Unit vectors for checked token-id inputs (only called if `supports_token_ids`)."""
        ...


def embedding_only_error(provider_id: str) -> InvalidRequestError:
    """The error for chat or completion calls sent to a provider that only embeds."""
    return InvalidRequestError(
        f"provider '{provider_id}' serves embedding models only; use POST /v1/embeddings", param="model"
    )


def token_id_inputs(request: EmbeddingsRequest) -> list[list[int]]:
    """The input as one list of token ids per item (a flat list of ints is a single input)."""
    if isinstance(request.input, str) or any(isinstance(item, str) for item in request.input):
        raise InvalidRequestError("'input' mixes text and token ids", param="input")
    if all(isinstance(item, int) for item in request.input):
        return [list(request.input)]  # type: ignore[arg-type]
    return [list(item) for item in request.input]  # type: ignore[arg-type]


def check_token_ids(inputs: Sequence[Sequence[int]], *, vocab_size: int, max_tokens: int) -> None:
    """Reject token-id inputs the model cannot take as they are.

    Ids are fed verbatim (the caller adds any special tokens), so an over-long input is refused
    rather than cut: cutting would drop the closing special token the caller put there.
    """
    for index, ids in enumerate(inputs):
        where = f"input[{index}]" if len(inputs) > 1 else "input"
        if not ids:
            raise InvalidRequestError(f"{where} is an empty list of token ids", param="input")
        if len(ids) > max_tokens:
            raise InvalidRequestError(
                f"{where} has {len(ids)} token ids; this model takes at most {max_tokens}", param="input"
            )
        if min(ids) < 0 or max(ids) >= vocab_size:
            raise InvalidRequestError(
                f"{where} holds a token id outside this model's vocabulary [0, {vocab_size})", param="input"
            )


def output_dimensions(requested: int | None, native: int, *, allow_truncation: bool, provider_id: str) -> int:
    """How many dimensions to return for a request's `dimensions`.

    Fewer than the model's own size is honoured only for models trained to be cut (Matryoshka);
    for others a truncated vector ranks noticeably worse, so it is refused instead of served.
    """
    if requested is None or requested == native:
        return native
    if requested > native:
        raise InvalidRequestError(
            f"'dimensions' is {requested}, but this model's embeddings have {native}", param="dimensions"
        )
    if not allow_truncation:
        raise UnsupportedParameterError(
            f"provider '{provider_id}' cannot shorten embeddings: its model was not trained for it "
            f"(Matryoshka); omit 'dimensions' or set it to {native}",
            param="dimensions",
        )
    return requested


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row stays zero instead of becoming NaN."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def shortened(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """The first `dimensions` components of each row, re-normalised (Matryoshka-style)."""
    if dimensions >= vectors.shape[1]:
        return vectors
    return l2_normalise(vectors[:, :dimensions])


def encode_base64(vector: np.ndarray) -> str:
    """float32 little-endian bytes in base64, as OpenAI sends them."""
    return base64.b64encode(np.ascontiguousarray(vector, dtype="<f4").tobytes()).decode("ascii")


def decode_base64(text: str) -> np.ndarray:
    """The inverse of `encode_base64` (for clients and tests)."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def embeddings_response(
    vectors: np.ndarray,
    *,
    model: str,
    prompt_tokens: int,
    dimensions: int,
    encoding_format: Literal["float", "base64"] | None,
) -> CreateEmbeddingResponse:
    """The OpenAI response for a (inputs x native dimension) float matrix of unit vectors."""
    rows = shortened(vectors, dimensions)
    usage = EmbeddingUsage(prompt_tokens=prompt_tokens, total_tokens=prompt_tokens)
    if encoding_format == "base64":
        data = [Embedding(embedding=encode_base64(row), index=i, object="embedding")
                for i, row in enumerate(rows)]
        return CreateEmbeddingResponse(data=data, model=model, object="list", usage=usage)
    floats = rows.astype(np.float32, copy=False).tolist()
    return CreateEmbeddingResponse(
        data=[Embedding(embedding=row, index=i, object="embedding") for i, row in enumerate(floats)],
        model=model,
        object="list",
        usage=usage,
    )


def batches(items: Sequence[Sized], size: int) -> Iterator[list[int]]:
    """Index batches of at most `size`, longest items first, so each batch pads little.

    Padding never changes a vector (it is masked out), only the work spent on it.
    """
    order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)
    for start in range(0, len(order), size):
        yield order[start : start + size]


class EmbeddingsAdapter:
    """The Inference API over one local sentence encoder, serving one embedding model.

    Batches run in a small thread pool and a request submits its batches one after another, so a
    large request never holds the pool while other requests' batches queue behind all of it.
    """

    accepts_unlisted_models = False

    def __init__(self, encoder: SentenceEncoder, *, model: str, provider_id: str, batch_size: int,
                 max_concurrent_batches: int = 1, allow_dimension_truncation: bool = False) -> None:
        self.encoder = encoder
        self.model = model
        self.provider_id = provider_id
        self.batch_size = batch_size
        self.allow_dimension_truncation = allow_dimension_truncation
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=max_concurrent_batches, thread_name_prefix=f"{provider_id}-embeddings"
        )

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        raise embedding_only_error(self.provider_id)

    async def completion(self, request: CompletionRequest) -> Completion | AsyncIterator[Completion]:
        raise embedding_only_error(self.provider_id)

    async def embeddings(self, request: EmbeddingsRequest) -> CreateEmbeddingResponse:
        if request.model != self.model:
            raise ModelNotFoundError(request.model)
        dimensions = output_dimensions(request.dimensions, self.encoder.dimension,
                                       allow_truncation=self.allow_dimension_truncation,
                                       provider_id=self.provider_id)
        texts = request.texts
        if texts is not None:
            encoded = await self._encode_all(self.encoder.encode_texts, texts)
        else:
            ids = token_id_inputs(request)
            if not self.encoder.supports_token_ids:
                raise UnsupportedParameterError(
                    f"provider '{self.provider_id}' takes text input only, not token ids", param="input"
                )
            check_token_ids(ids, vocab_size=self.encoder.vocab_size, max_tokens=self.encoder.max_tokens)
            encoded = await self._encode_all(self.encoder.encode_ids, ids)
        return embeddings_response(encoded.vectors, model=request.model,
                                   prompt_tokens=sum(encoded.token_counts), dimensions=dimensions,
                                   encoding_format=request.encoding_format)

    async def warm_up(self) -> None:
        """Embed one short text before the server reports ready: the runtime's first run (allocations,
        thread pool, tokenizer) costs more than any later one, and no user's request should pay it."""
        await self._encode_all(self.encoder.encode_texts, ["warm up"])

    async def list_models(self) -> list[ProviderModel] | None:
        metadata = {"embedding_dimension": self.encoder.dimension, "context_length": self.encoder.max_tokens}
        return [ProviderModel(provider_resource_id=self.model, model_type=ModelType.embedding,
                              metadata=metadata)]

    async def health(self) -> HealthStatus:
        if self._pool is None:
            return HealthStatus(status="Error", message="the provider is shut down")
        return HealthStatus(status="OK")

    async def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _encode_all(self, encode: Callable[[Any], Encoded], items: Sequence[Any]) -> Encoded:
        vectors = np.empty((len(items), self.encoder.dimension), dtype=np.float32)
        counts = [0] * len(items)
        for indices in batches(items, self.batch_size):
            done = await self._run(encode, [items[i] for i in indices])
            vectors[indices] = done.vectors
            for i, count in zip(indices, done.token_counts, strict=True):
                counts[i] = count
        return Encoded(vectors, counts)

    async def _run(self, encode: Callable[[Any], Encoded], batch: list[Any]) -> Encoded:
        if self._pool is None:
            raise ServiceUnavailableError(f"provider '{self.provider_id}' is shut down")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, encode, batch)
        except PolystackError:
            raise
        except Exception as exc:  # model runtimes raise their own plain exception types
            raise ProviderError(self.provider_id, f"the embedding model failed: {exc}") from exc
