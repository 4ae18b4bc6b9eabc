"""How ef_search and the number of candidates rescored exactly trade recall for CPU, on one int8 usearch graph.

The graph is built as HnswSearcher builds it (int8, M=16, ef_construction=128) over the MiniLM corpus of
bench/vector_corpus.py plus perturbed copies up to 100,000 (vector_ann_libs.perturbed); each query asks the
graph for k x rerank candidates and keeps the 10 best by exact float32 inner product, as the searcher does.
The exact scan of the same vectors is timed first, in the same run, as the yardstick.
Run: .venv/bin/python bench/vector_ann_ef.py [--total 100000] [--queries 300] [--ef 64 128 256] [--rerank 1 2]
(prints recall@10 and CPU per query for each pair)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from usearch.index import Index
from vector_ann_libs import perturbed
from vector_corpus import load


def main(total: int, queries_count: int, efs: list[int], reranks: list[int]) -> None:
    base, queries, _ = load()
    vectors = perturbed(base, -(-total // len(base)) - 1)[:total]
    queries = queries[:queries_count]
    cpu = time.process_time()
    truth = [set(np.argpartition(-(vectors @ query), 10)[:10].tolist()) for query in queries]
    print(f"exact scan: {(time.process_time() - cpu) / len(queries) * 1000:.2f} ms CPU a query", flush=True)
    graph = Index(ndim=vectors.shape[1], metric="ip", dtype="i8", connectivity=16, expansion_add=128)
    started, cpu = time.perf_counter(), time.process_time()
    graph.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=2)
    print(f"{len(vectors)} vectors ({len(base)} real), build {time.perf_counter() - started:.0f} s "
          f"({time.process_time() - cpu:.0f} s CPU), graph {graph.memory_usage / 2**20:.0f} MB", flush=True)
    for ef in efs:
        for rerank in reranks:
            graph.expansion_search = max(ef, 10 * rerank)
            hits, cpu = 0, time.process_time()
            for query, want in zip(queries, truth, strict=True):
                keys = np.asarray(graph.search(query, 10 * rerank, threads=1).keys, np.int64)
                keys = keys[np.argsort(-(vectors[keys] @ query))[:10]]
                hits += len(set(keys.tolist()) & want)
            cpu_ms = (time.process_time() - cpu) / len(queries) * 1000
            print(f"ef {ef} rerank {rerank}: recall {hits / (10 * len(queries)):.4f} cpu/query {cpu_ms:.2f} ms",
                  flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--rerank", type=int, nargs="+", default=[1, 2, 3, 4])
    args = parser.parse_args()
    main(args.total, args.queries, args.ef, args.rerank)
