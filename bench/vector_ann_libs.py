"""ANN libraries side by side on the real MiniLM corpus: build time, query p50/p95, recall@10, memory, save and reopen.

The yardstick is exact search in numpy (one float32 matrix-vector product, what inline::sqlite-vec did),
measured in the same run on the same vectors. Each library builds an HNSW graph (M=16, ef_construction=128)
over the corpus (bench/vector_corpus.py; `--copies N` adds N perturbed copies of it, see perturbed()), then answers
the held-out queries one at a time at a few ef_search values; memory is the process RSS growth while
building. Run: .venv/bin/python bench/vector_ann_libs.py [--size 100000] [--copies 0] [--libraries usearch faiss]
Results are printed and written to bench/results/vector_ann_libs.json (or --output).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from vector_corpus import load

HERE = Path(__file__).resolve().parent
M, EF_CONSTRUCTION = 16, 128
EF_SEARCH = (32, 64, 128)
THREADS = 2


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def perturbed(vectors: np.ndarray, copies: int, spread: float = 1.0, seed: int = 1) -> np.ndarray:
    """The corpus and `copies` noisy copies of it: near, never equal, spread along the corpus's own directions.

    The noise follows the real vectors' covariance (so a copy stays in the region real text occupies, unlike
    isotropic noise), scaled by `spread`: at 1.0 a copy's median cosine to its original is 0.73 on the
    MiniLM corpus, about a paraphrase's, so copies are neighbours of their original without being clones.
    """
    if copies == 0:
        return vectors
    rng = np.random.default_rng(seed)
    centred = vectors - vectors.mean(axis=0)
    _, singular, directions = np.linalg.svd(centred, full_matrices=False)
    basis = (singular[:, None] / np.sqrt(len(vectors))) * directions  # z @ basis ~ N(0, covariance)
    parts = [vectors]
    for _ in range(copies):
        noise = rng.standard_normal((len(vectors), len(singular)), dtype=np.float32) @ basis
        noisy = vectors + spread * noise
        parts.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


class Usearch:
    def __init__(self, dim: int, dtype: str = "f32") -> None:
        from usearch.index import Index

        self.dtype = dtype
        self.index = Index(ndim=dim, metric="ip", dtype=dtype, connectivity=M, expansion_add=EF_CONSTRUCTION)

    def build(self, vectors: np.ndarray) -> None:
        self.index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=THREADS)

    def set_ef(self, ef: int) -> None:
        self.index.expansion_search = ef

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(vector, k, threads=1).keys  # type: ignore[no-any-return]

    def save_reopen(self, folder: Path, dim: int) -> float:
        from usearch.index import Index

        self.index.save(str(folder / "u.usearch"))
        started = time.perf_counter()
        Index.restore(str(folder / "u.usearch"), view=False)
        return time.perf_counter() - started


class Hnswlib:
    def __init__(self, dim: int) -> None:
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=dim)
        self.dim = dim

    def build(self, vectors: np.ndarray) -> None:
        self.index.init_index(max_elements=len(vectors), M=M, ef_construction=EF_CONSTRUCTION)
        self.index.add_items(vectors, np.arange(len(vectors)), num_threads=THREADS)

    def set_ef(self, ef: int) -> None:
        self.index.set_ef(ef)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.index.knn_query(vector, k, num_threads=1)[0][0]  # type: ignore[no-any-return]

    def save_reopen(self, folder: Path, dim: int) -> float:
        import hnswlib

        self.index.save_index(str(folder / "h.bin"))
        started = time.perf_counter()
        hnswlib.Index(space="ip", dim=dim).load_index(str(folder / "h.bin"))
        return time.perf_counter() - started


class Faiss:
    def __init__(self, dim: int) -> None:
        import faiss

        faiss.omp_set_num_threads(THREADS)
        self.index = faiss.IndexHNSWFlat(dim, M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION

    def build(self, vectors: np.ndarray) -> None:
        self.index.add(vectors)

    def set_ef(self, ef: int) -> None:
        import faiss

        self.index.hnsw.efSearch = ef
        faiss.omp_set_num_threads(1)

    def query(self, vector: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(vector[None, :], k)[1][0]  # type: ignore[no-any-return]

    def save_reopen(self, folder: Path, dim: int) -> float:
        import faiss

        faiss.write_index(self.index, str(folder / "f.index"))
        started = time.perf_counter()
        faiss.read_index(str(folder / "f.index"))
        return time.perf_counter() - started


LIBRARIES: dict[str, Callable[[int], Any]] = {
    "usearch": Usearch,
    "usearch-i8": lambda dim: Usearch(dim, "i8"),
    "hnswlib": Hnswlib,
    "faiss": Faiss,
}


def _ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1000, 3)


def exact_run(vectors: np.ndarray, queries: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    times, found = [], []
    for query in queries:
        started = time.perf_counter()
        scores = vectors @ query
        best = np.argpartition(-scores, 10)[:10]
        best = best[np.argsort(-scores[best])]
        times.append(time.perf_counter() - started)
        found.append(best)
    return {"p50_ms": _ms(times, 50), "p95_ms": _ms(times, 95), "recall_at_10": 1.0}, np.array(found)


def library_run(name: str, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    gc.collect()
    before = rss_mb()
    index = LIBRARIES[name](vectors.shape[1])
    started = time.perf_counter()
    index.build(vectors)
    figures: dict[str, Any] = {"build_s": round(time.perf_counter() - started, 1),
                               "memory_mb": round(rss_mb() - before)}
    for ef in EF_SEARCH:
        index.set_ef(ef)
        times, hits = [], 0
        for query, best in zip(queries, truth, strict=True):
            began = time.perf_counter()
            keys = index.query(query, 10)
            times.append(time.perf_counter() - began)
            hits += len(set(np.asarray(keys).tolist()) & set(best.tolist()))
        figures[f"ef{ef}"] = {"p50_ms": _ms(times, 50), "p95_ms": _ms(times, 95),
                              "recall_at_10": round(hits / truth.size, 4)}
    with tempfile.TemporaryDirectory(prefix="bench-ann-") as folder:
        figures["reopen_s"] = round(index.save_reopen(Path(folder), vectors.shape[1]), 2)
    return figures


def threshold_sweep(vectors: np.ndarray, queries: np.ndarray, sizes: list[int]) -> dict[str, Any]:
    """Exact numpy vs usearch (int8, ef 64, candidates rescored) at growing sizes: where the graph starts to pay."""
    sweep: dict[str, Any] = {}
    for size in sizes:
        part = vectors[:size]
        exact, truth = exact_run(part, queries)
        index = Usearch(part.shape[1], "i8")
        started = time.perf_counter()
        index.build(part)
        build = time.perf_counter() - started
        index.set_ef(64)
        times, hits = [], 0
        for query, best in zip(queries, truth, strict=True):
            began = time.perf_counter()
            keys = np.asarray(index.query(query, 20), np.int64)
            keys = keys[np.argsort(-(part[keys] @ query))[:10]]
            times.append(time.perf_counter() - began)
            hits += len(set(keys.tolist()) & set(best.tolist()))
        sweep[str(size)] = {"exact_p50_ms": exact["p50_ms"], "exact_p95_ms": exact["p95_ms"],
                            "hnsw_p50_ms": _ms(times, 50), "hnsw_p95_ms": _ms(times, 95),
                            "hnsw_recall_at_10": round(hits / truth.size, 4), "build_s": round(build, 2)}
        print(size, sweep[str(size)], flush=True)
    return sweep


def main(size: int, total: int | None, copies: int, libraries: list[str], output: Path,
         sweep: list[int] | None = None, queries_count: int = 1000) -> None:
    base, queries, _ = load(size)
    queries = queries[:queries_count]
    if total is not None:  # every real vector, then perturbed copies up to `total`
        copies = max(0, -(-total // len(base)) - 1)
    vectors = perturbed(base, copies)[:total]
    print(f"{len(vectors)} vectors, {len(queries)} queries; load average {os.getloadavg()[0]:.1f}", flush=True)
    if sweep:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"real": len(base), "copies": copies, "load_average_1m": os.getloadavg()[0],
                                      "sweep": threshold_sweep(vectors, queries, sweep)}, indent=2) + "\n")
        return
    exact, truth = exact_run(vectors, queries)
    results: dict[str, Any] = {"exact-numpy": exact}
    print("exact", exact, flush=True)
    for name in libraries:
        results[name] = library_run(name, vectors, queries, truth)
        print(name, results[name], flush=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"vectors": len(vectors), "real": len(base), "copies": copies,
                                      "queries": len(queries), "cpus": os.cpu_count(),
                                      "load_average_1m": round(os.getloadavg()[0], 2), "results": results},
                                     indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--total", type=int, help="vectors: the real ones plus perturbed copies up to this many")
    parser.add_argument("--copies", type=int, default=0, help="perturbed copies of the corpus to add (9: 1M)")
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=list(LIBRARIES))
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--sweep", type=int, nargs="+", help="sizes: exact vs usearch only, to place the threshold")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "vector_ann_libs.json")
    args = parser.parse_args()
    main(args.size, args.total, args.copies, args.libraries, args.output, args.sweep, args.queries)
