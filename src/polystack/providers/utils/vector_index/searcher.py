"""The one seam between the providers: how a store's vectors are searched (numpy, FAISS, sqlite-vec's vec0)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VectorSearcher(Protocol):
    """Vectors of one store by position (see StoreRows), searched by inner product (= cosine: unit vectors).

    Calls come under the store's lock, so a searcher needs no locking of its own.
    """

    holds_vectors: bool
    """Whether vectors must be loaded into it at startup (False: it reads them from the database itself)."""

    def add(self, vectors: np.ndarray) -> None:
        """Vectors (float32, one per row) for the next positions, in order."""
        ...

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Positions and scores of the k best positions in `mask` (all when None), best first.

        Must return min(k, positions in mask) results: a selective filter never shortens the answer.
        """
        ...

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the vectors at positions `keep` (ascending); they become positions 0..len(keep)-1."""
        ...

    def save(self) -> None:
        """Write derived state (an ANN graph) to disk; called at shutdown. Nothing for most searchers."""
        ...

    def discard(self) -> None:
        """The store was deleted: remove any file of its own."""
        ...


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indexes and values of the k highest scores, best first (-inf scores are never returned)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    best = best[np.argsort(-scores[best], kind="stable")]
    best = best[np.isfinite(scores[best])]
    return best, scores[best]
