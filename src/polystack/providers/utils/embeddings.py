"""What every local embedding provider shares: input checks, `dimensions`, encodings and the response.

Only provider implementations import this module (inside their factories), so numpy at the top
costs nothing to a stack that runs no local embedding model.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence, Sized
from typing import Literal

import numpy as np
from openai.types.create_embedding_response import Usage

from polystack.apis.errors import InvalidRequestError, UnsupportedParameterError
from polystack.apis.inference.types import CreateEmbeddingResponse, Embedding, EmbeddingsRequest

class Base64Embedding(Embedding):
    """An embedding sent as base64 text; the SDK's type only allows floats."""

    embedding: str  # type: ignore[assignment]


class Base64EmbeddingResponse(CreateEmbeddingResponse):
    """A response holding base64 embeddings, so serialising it validates and warns about nothing."""

    data: list[Base64Embedding]  # type: ignore[assignment]


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
    usage = Usage(prompt_tokens=prompt_tokens, total_tokens=prompt_tokens)
    if encoding_format == "base64":
        data = [Base64Embedding(embedding=encode_base64(row), index=i, object="embedding")
                for i, row in enumerate(rows)]
        return Base64EmbeddingResponse(data=data, model=model, object="list", usage=usage)
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
