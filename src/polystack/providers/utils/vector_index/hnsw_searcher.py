"""Approximate search for big stores: a usearch HNSW graph keyed by chunk row, beside the exact float32 matrix.

Decided by measurement (bench/vector_ann.py, bench/vector_ann_libs.py; MiniLM vectors of real text, see
bench/results/ and the docstrings there for what is real and what is perturbed):
- Library: usearch (one small wheel, int8 storage, deletions by key, a graph saved to and restored from
  one file in about a second). At 100,000 x 384 its int8 graph is a 51 MB file beside the 150 MB matrix.
  faiss-cpu's HNSW (also int8 as IndexHNSWSQ) cannot remove vectors, so deletes would mean rebuilds;
  hnswlib's last release is from 2023. (Their side-by-side build/recall run did not finish on the
  busy machine this was written on: bench/vector_ann_libs.py measures all three.)
- Threshold: below `threshold` live chunks the store is searched exactly (ExactMatrix). Exact costs about
  0.2 ms of CPU per 1,000 chunks a query on this busy 2-core machine, so from ~10,000 chunks it no longer
  fits a 5 ms budget, while a graph walk costs about the same at 10,000 as at 100,000. At the threshold the
  graph is built from every vector once (seconds per 10,000 vectors when busy; queries of this store
  wait), then extended by each write.
- Recall: the graph ranks by int8 vectors, so RERANK x k candidates are rescored with the exact float32
  vectors, and scores are the exact ones whatever the graph stores. On 100,000 MiniLM vectors
  (bench/results/vector_ann_ef_100k.log) recall@10 is 0.87 / 0.91 / 0.91 at ef 64 with 1x / 2x / 3x
  candidates, 0.95 at ef 128 with 2x, 0.973 at ef 256 with 2x (~1.5 ms CPU a query when busy): ef_search
  256 and 2x; more candidates than 2x gain nothing. At 1,000,000 (2,048 real vectors and 488 perturbed
  copies of each: bench/results/vector_ann_ef_1m.log) the same settings reach only 0.72 for ~2 ms of CPU
  against 138 ms for a scan: such stores need a higher `ann_ef_search` (not measured yet).
- Filters: one passing at most EXACT_FILTER_BELOW of the store is answered exactly over its rows
  (gathering them is exact and cheaper than walking a graph of mostly rejected nodes); a broader one
  over-fetches graph candidates (k x RERANK / share), keeps those that pass, and falls back to exact
  search when fewer than k survive. Deleted rows are handled the same way, as a mask.
- Keys are chunk rows, which SQLite never reuses (AUTOINCREMENT), so a key names one vector for the
  life of the database: a deleted row is a key whose position is gone (skipped at once, removed from
  the graph when StoreRows compacts), and the graph can be saved and reloaded.
- Persistence: the graph is a derived file (`path`), saved after a build and at shutdown, atomically
  (temporary file + rename). When the graph is needed it is loaded from the file if a sample of its
  vectors equals the stored ones; rows it lacks (written after the last save, e.g. before a crash) are
  added and rows deleted since are removed. Anything else (missing, unreadable, another database's
  file) means a rebuild from the matrix. SQLite stays the source of truth throughout.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from polystack.providers.utils.vector_index.chunk_store import StoredStore
from polystack.providers.utils.vector_index.database import Database
from polystack.providers.utils.vector_index.exact_matrix import ExactMatrix
from polystack.providers.utils.vector_index.searcher import top_k
from polystack.providers.utils.vector_index.store_rows import StoreRows

logger = logging.getLogger(__name__)

# A filter passing at most this share of the positions is answered exactly over the passing rows.
EXACT_FILTER_BELOW = 0.2
# Graph candidates per wanted result (then divided by the share passing the mask): the graph ranks by int8
# vectors, so twice as many candidates are rescored exactly, and a post-filter keeps enough of them.
RERANK = 2.0
SAMPLE = 16  # vectors compared between a saved graph and the matrix before trusting the graph


def graph_path(database: Database, store: StoredStore) -> Path:
    """`<db file>.hnsw/<store num>-<hash of store id>.usearch`: a re-created store never reads an old graph blindly."""
    digest = hashlib.blake2b(store.store_id.encode(), digest_size=6).hexdigest()
    return Path(f"{database.path}.hnsw") / f"{store.num}-{digest}.usearch"


class HnswSearcher:
    """Implements VectorSearcher: exact below `threshold` live positions, HNSW (usearch) at or above it."""

    holds_vectors = True

    def __init__(self, dimension: int, rows: StoreRows, *, threshold: int, path: Path | None = None,
                 connectivity: int = 16, expansion_add: int = 128, expansion_search: int = 256,
                 dtype: str = "i8", threads: int = 0) -> None:
        self._exact = ExactMatrix(dimension)
        self._rows = rows
        self._keys = np.empty(0, np.uint64)  # the row at each position, as the graph's key
        self._threshold = threshold
        self._path = path
        self._dimension, self._dtype = dimension, dtype
        self._connectivity, self._expansion_add, self._expansion_search = connectivity, expansion_add, expansion_search
        self._threads = threads
        self._graph: Any = None
        self.graph_source: Literal["built", "restored"] | None = None
        """Where the graph came from: built from the matrix, or restored from its file (and caught up)."""

    @property
    def approximate(self) -> bool:
        """Whether queries go through the graph (the store reached the threshold)."""
        return self._graph is not None

    def add(self, vectors: np.ndarray) -> None:
        """Called after StoreRows.append: the new positions are the last len(vectors) ones."""
        start = self._exact.count
        self._exact.add(vectors)
        keys = np.asarray(self._rows.rows_at(np.arange(start, start + len(vectors))), np.uint64)
        self._keys = np.concatenate([self._keys, keys])
        if self._graph is not None:
            self._graph.add(keys, vectors, threads=self._threads)
        elif self._rows.live >= self._threshold:
            restored = self._restored()
            if restored is not None:
                self._graph, self.graph_source = restored, "restored"
            else:
                self._graph, self.graph_source = self._built(), "built"

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if self._graph is None:
            return self._exact.search(query, k, mask)
        count = self._exact.count
        passing = count if mask is None else int(np.count_nonzero(mask))
        wanted = min(k, passing)
        if passing <= EXACT_FILTER_BELOW * count or passing <= 4 * k:
            return self._exact.search(query, k, mask)
        fetch = min(len(self._graph), math.ceil(wanted * RERANK * count / passing))
        self._graph.expansion_search = max(self._expansion_search, fetch)
        found = self._graph.search(query, fetch, threads=1)
        positions = [self._rows.position_of(int(key)) for key in found.keys]
        kept = np.asarray([p for p in positions if p is not None and (mask is None or mask[p])], np.int64)
        if len(kept) < wanted:  # deleted or filtered-out candidates left too few: never answer with fewer
            return self._exact.search(query, k, mask)
        best, scores = top_k(self._exact.vectors()[kept] @ query, k)  # exact scores of the candidates
        return kept[best], scores

    def compact(self, keep: np.ndarray) -> None:
        dropped = np.setdiff1d(np.arange(self._exact.count), keep, assume_unique=True)
        if self._graph is not None and len(dropped):
            self._graph.remove(self._keys[dropped])
        self._exact.compact(keep)
        self._keys = self._keys[keep]

    def save(self) -> None:
        """Write the graph to its file (temporary file, then rename): a crash leaves the old file or the new."""
        if self._graph is None or self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_suffix(".partial")
        self._graph.save(str(partial))
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, self._path)

    def discard(self) -> None:
        """The store is gone: forget the graph and delete its file."""
        self._graph = self.graph_source = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()

    def _built(self) -> Any:
        from usearch.index import Index

        graph = Index(ndim=self._dimension, metric="ip", dtype=self._dtype, connectivity=self._connectivity,
                      expansion_add=self._expansion_add, expansion_search=self._expansion_search)
        live = self._live_positions()
        graph.add(self._keys[live], self._exact.vectors()[live], threads=self._threads)
        self._graph = graph
        try:
            self.save()
        except OSError as exc:  # the graph is derived: a full disk costs a rebuild at the next start, no data
            logger.warning("could not save the HNSW graph to %s: %s", self._path, exc)
        return graph

    def _restored(self) -> Any:
        """The saved graph caught up with the matrix, or None when there is none or it cannot be trusted."""
        if self._path is None or not self._path.exists():
            return None
        from usearch.index import Index

        try:
            graph: Any = Index.restore(str(self._path))
        except (RuntimeError, ValueError, OSError) as exc:
            logger.warning("rebuilding the HNSW graph: %s is unreadable (%s)", self._path, exc)
            return None
        if graph is None or graph.ndim != self._dimension or str(graph.dtype).lower()[-2:] != self._dtype:
            return None
        live = self._live_positions()
        live_keys = self._keys[live]
        saved = np.asarray(graph.keys, np.uint64)
        if not self._same_vectors(graph, saved, live_keys, live):
            logger.warning("rebuilding the HNSW graph: %s does not match the database", self._path)
            return None
        stale = np.setdiff1d(saved, live_keys)
        if len(stale):
            graph.remove(stale)
        missing = ~np.isin(live_keys, saved)
        if missing.any():
            graph.add(live_keys[missing], self._exact.vectors()[live[missing]], threads=self._threads)
        graph.expansion_search = self._expansion_search
        return graph

    def _same_vectors(self, graph: Any, saved: np.ndarray, live_keys: np.ndarray, live: np.ndarray) -> bool:
        """A sample of the keys both hold must have the same vectors (within int8 rounding)."""
        common = np.flatnonzero(np.isin(live_keys, saved))
        if len(common) == 0:
            return len(saved) == 0
        sample = common[np.linspace(0, len(common) - 1, min(SAMPLE, len(common))).astype(np.int64)]
        stored = np.asarray(graph.get(live_keys[sample], dtype=np.float32), np.float32).reshape(len(sample), -1)
        expected = self._exact.vectors()[live[sample]]
        return bool(np.allclose(stored, expected, atol=0.02))

    def _live_positions(self) -> np.ndarray:
        alive = self._rows.mask(None)  # StoreRows and the matrix hold the same positions
        return np.arange(self._exact.count) if alive is None else np.flatnonzero(alive)
