"""HnswSearcher: exact below its threshold, an HNSW graph above it that agrees with exact search; deletes,
filters and its saved graph file (restored, caught up, or rebuilt when missing or foreign)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from polystack.providers.utils.vector_index.exact_matrix import ExactMatrix
from polystack.providers.utils.vector_index.hnsw_searcher import HnswSearcher
from polystack.providers.utils.vector_index.store_rows import StoreRows

DIM = 32
K = 10


def clustered(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 20 centres: clustered as real embeddings are, so neighbours are well defined."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, DIM))
    vectors = centres[rng.integers(0, 20, count)] + 0.6 * rng.standard_normal((count, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def filled(vectors: np.ndarray, *, threshold: int, path: Path | None = None, first_row: int = 1,
           batches: int = 1) -> tuple[StoreRows, HnswSearcher]:
    rows = StoreRows()
    searcher = HnswSearcher(DIM, rows, threshold=threshold, path=path, dtype="i8")
    for part in np.array_split(np.arange(len(vectors)), batches):
        rows.append([first_row + int(i) for i in part], [{"bucket": int(i) % 10} for i in part])
        searcher.add(vectors[part])
    return rows, searcher


def recall(searcher: HnswSearcher, exact: ExactMatrix, queries: np.ndarray, mask: np.ndarray | None) -> float:
    found = 0
    for query in queries:
        got, scores = searcher.search(query, K, mask)
        want, _ = exact.search(query, K, mask)
        assert len(got) == len(want)
        assert np.all(np.diff(scores) <= 1e-6)  # best first
        if mask is not None:
            assert mask[got].all()
        found += len(set(got.tolist()) & set(want.tolist()))
    return found / (K * len(queries))


def exact_of(vectors: np.ndarray) -> ExactMatrix:
    exact = ExactMatrix(DIM)
    exact.add(vectors)
    return exact


def test_a_store_below_the_threshold_is_searched_exactly_and_switches_to_the_graph_at_it() -> None:
    vectors = clustered(400)
    rows, searcher = filled(vectors[:299], threshold=300)
    assert not searcher.approximate
    rows.append([1000], [{}])
    searcher.add(vectors[299:300])
    assert searcher.approximate and searcher.graph_source == "built"


def test_graph_answers_agree_with_exact_search() -> None:
    vectors = clustered(3000)
    _, searcher = filled(vectors, threshold=100, batches=3)
    assert searcher.approximate
    assert recall(searcher, exact_of(vectors), clustered(50, seed=1), None) >= 0.9  # synthetic: harder than real text


def test_deleted_rows_disappear_at_once_and_after_compaction() -> None:
    vectors = clustered(1000)
    rows, searcher = filled(vectors, threshold=100)
    queries = vectors[:40]  # each query's best answer is itself, until it is deleted
    rows.remove(list(range(1, 21)))  # rows 1..20 are positions 0..19
    mask = rows.mask(None)
    for query in queries[:20]:
        positions, _ = searcher.search(query, K, mask)
        assert len(positions) == K and not set(positions.tolist()) & set(range(20))
    searcher.compact(rows.compact())
    for query in queries[20:]:
        positions, _ = searcher.search(query, K, rows.mask(None))
        assert rows.rows_at(positions[:1]) == [int(np.flatnonzero((vectors == query).all(axis=1))[0]) + 1]


def test_filters_stay_exact_when_selective_and_are_honoured_when_broad() -> None:
    vectors = clustered(3000)
    rows, searcher = filled(vectors, threshold=100)
    exact, queries = exact_of(vectors), clustered(30, seed=2)
    bucket = np.arange(3000) % 10
    selective = bucket == 3  # 10%: exact over the passing rows
    assert recall(searcher, exact, queries, selective) == 1.0
    broad = bucket < 7  # 70%: graph candidates, post-filtered
    assert recall(searcher, exact, queries, broad) >= 0.9
    only_five = np.zeros(3000, np.bool_)
    only_five[[3, 500, 1000, 2000, 2999]] = True
    positions, _ = searcher.search(queries[0], K, only_five)
    assert sorted(positions.tolist()) == [3, 500, 1000, 2000, 2999]


def test_a_saved_graph_is_restored_and_caught_up_with_rows_written_and_deleted_since(tmp_path: Path) -> None:
    path = tmp_path / "graph.usearch"
    vectors = clustered(2000)
    _, first = filled(vectors[:1500], threshold=100, path=path)
    first.save()
    # Reopened on a database that since gained rows 1501..2000 and lost rows 1..100.
    rows, searcher = filled(vectors[100:], threshold=100, path=path, first_row=101)
    assert searcher.graph_source == "restored"
    exact = exact_of(vectors[100:])
    assert recall(searcher, exact, clustered(30, seed=3), None) >= 0.9
    positions, _ = searcher.search(vectors[1900], K, None)
    assert rows.rows_at(positions[:1]) == [1901]
    deleted_query = vectors[5]
    assert all(row > 100 for row in rows.rows_at(searcher.search(deleted_query, K, None)[0]))


def test_a_missing_or_foreign_graph_file_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "graph.usearch"
    _, other = filled(clustered(500, seed=7), threshold=100, path=path)  # another database's vectors, same rows
    other.save()
    _, searcher = filled(clustered(500), threshold=100, path=path)
    assert searcher.graph_source == "built"
    path.unlink()
    _, again = filled(clustered(500), threshold=100, path=path)
    assert again.graph_source == "built" and path.exists()
    path.write_bytes(b"not a graph")
    _, corrupt = filled(clustered(500), threshold=100, path=path)
    assert corrupt.graph_source == "built"


def test_discard_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "graph.usearch"
    _, searcher = filled(clustered(300), threshold=100, path=path)
    assert path.exists()
    searcher.discard()
    assert not path.exists() and not searcher.approximate
