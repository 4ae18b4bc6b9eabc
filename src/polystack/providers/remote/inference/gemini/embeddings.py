"""OpenAI embeddings requests <-> Gemini's batchEmbedContents, including OpenAI's base64 encoding."""

from __future__ import annotations

import base64
import struct
from typing import Any

from polystack.apis.errors import UnsupportedParameterError
from polystack.apis.inference.types import CreateEmbeddingResponse, Embedding, EmbeddingsRequest

BATCH_LIMIT = 100  # Gemini's limit on requests in one batchEmbedContents call


def batch_bodies(request: EmbeddingsRequest, model_name: str) -> list[dict[str, Any]]:
    """The batchEmbedContents bodies for the request's texts, at most BATCH_LIMIT texts each."""
    texts = request.texts
    if texts is None:
        raise UnsupportedParameterError("Gemini embeds text only; token-id input is not supported",
                                        param="input")
    entries = []
    for text in texts:
        entry: dict[str, Any] = {"model": model_name, "content": {"parts": [{"text": text}]}}
        if request.dimensions is not None:
            entry["outputDimensionality"] = request.dimensions
        entries.append(entry)
    return [{"requests": entries[start:start + BATCH_LIMIT]} for start in range(0, len(entries), BATCH_LIMIT)]


def to_embedding_response(vectors: list[list[float]], model: str, encoding_format: str | None
                          ) -> CreateEmbeddingResponse:
    # Gemini reports no token counts for embeddings, so usage is zero rather than a guess
    usage = {"prompt_tokens": 0, "total_tokens": 0}
    if encoding_format == "base64":
        return CreateEmbeddingResponse(
            object="list", model=model, usage=usage,  # type: ignore[arg-type]
            data=[Embedding(object="embedding", index=i, embedding=_pack(vector))
                  for i, vector in enumerate(vectors)])
    return CreateEmbeddingResponse.model_validate({
        "object": "list", "model": model, "usage": usage,
        "data": [{"object": "embedding", "index": i, "embedding": vector}
                 for i, vector in enumerate(vectors)],
    })


def _pack(vector: list[float]) -> str:
    """float32 little-endian, base64: the layout OpenAI's base64 embeddings use."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
