"""A store's vectors in a FAISS index (IndexFlatIP or IndexHNSWFlat), searched with an ID-bitmap filter.

FAISS ids are positions (vectors are added in position order). Deleted positions stay in the index,
excluded by the mask, until StoreRows compacts; HNSW cannot remove vectors, so compaction rebuilds it.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from polystack.providers.inline.vector_io.faiss.config import FaissConfig
from polystack.providers.utils.vector_index.searcher import top_k

# HNSW with a selective filter walks mostly rejected nodes and can come back short: below this share of
# passing positions, or this many, scoring them exactly is both cheaper and right.
HNSW_EXACT_BELOW = 0.05
HNSW_EXACT_UP_TO = 2048


class FaissSearcher:
    """Implements VectorSearcher."""

    holds_vectors = True

    def __init__(self, dimension: int, config: FaissConfig) -> None:
        self._dimension = dimension
        self._config = config
        self._index = self._new_index()

    def _new_index(self) -> faiss.Index:
        if self._config.index == "flat":
            return faiss.IndexFlatIP(self._dimension)
        index = faiss.IndexHNSWFlat(self._dimension, self._config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self._config.hnsw_ef_construction
        index.hnsw.efSearch = self._config.hnsw_ef_search
        return index

    def add(self, vectors: np.ndarray) -> None:
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def compact(self, keep: np.ndarray) -> None:
        vectors = self._index.reconstruct_n(0, self._index.ntotal)[keep]
        self._index = self._new_index()
        self.add(vectors)

    def save(self) -> None:
        """Nothing to save: the index is rebuilt from the database at start."""

    def discard(self) -> None:
        """Nothing to remove."""

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        total = self._index.ntotal
        passing = total if mask is None else int(mask.sum())
        wanted = min(k, passing)
        hnsw = self._config.index == "hnsw"
        if hnsw and passing <= max(HNSW_EXACT_UP_TO, HNSW_EXACT_BELOW * total):
            return self._exact(query, k, mask)
        params, keep_alive = (None, ()) if mask is None else self._restricted_to(mask, wanted)
        positions, scores = self._hits(*self._index.search(query[None, :], wanted, params=params))
        del keep_alive
        if len(positions) < wanted:  # an approximate graph walk came back short: never answer with fewer
            return self._exact(query, k, mask)
        return positions, scores

    def _restricted_to(self, mask: np.ndarray, wanted: int) -> tuple[Any, tuple[Any, ...]]:
        """Search parameters admitting only `mask`, and the objects FAISS points to (alive while it searches)."""
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
        # faiss's type stubs lack SearchParametersHNSW and the `sel` field; both exist at run time.
        hnsw = self._config.index == "hnsw"
        params: Any = faiss.SearchParametersHNSW() if hnsw else faiss.SearchParameters()  # type: ignore[attr-defined]
        params.sel = selector
        if hnsw:
            params.efSearch = max(self._config.hnsw_ef_search, wanted)
        return params, (bitmap, selector)

    def _exact(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        candidates = np.arange(self._index.ntotal) if mask is None else np.flatnonzero(mask)
        vectors = self._index.reconstruct_batch(candidates)
        best, scores = top_k(vectors @ query, k)
        return candidates[best], scores

    @staticmethod
    def _hits(scores: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = positions[0] >= 0
        return positions[0][found], scores[0][found]
