"""Checking and normalising the embeddings that callers hand a vector index, the same way for every provider."""

from __future__ import annotations

import numpy as np

from polystack.apis.errors import InvalidRequestError


def unit_rows(embeddings: list[list[float]]) -> np.ndarray:
    """A float32 matrix of rows scaled to length 1, so inner product is cosine even if a caller forgot to."""
    try:
        vectors = np.asarray(embeddings, dtype=np.float32)
    except (ValueError, TypeError):
        vectors = np.empty(0, np.float32)
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise InvalidRequestError("embeddings must be lists of numbers, all of one length", param="embeddings")
    if not np.isfinite(vectors).all():
        raise InvalidRequestError("embeddings must be finite numbers", param="embeddings")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms), dtype=np.float32)
