"""inline::sqlite-vec exact vs HNSW on real MiniLM vectors, via the VectorIndex API: latency, CPU, recall, memory.

The corpus is bench/vector_corpus.py's (100,000 passages of docs shipped on this machine, embedded with the
repo's all-MiniLM-L6-v2; queries are 1,000 held-out passages cut to 12-20 words). `--copies N` adds N
perturbed copies of every vector (vector_ann_libs.perturbed: noise shaped by the corpus's covariance,
median cosine 0.73 to the original; the text is the original's first 20 words): real structure, but not
that many distinct real texts.
One database is filled once with `ann_threshold: null` (insert rate), then opened three times on the same
file: exact (the yardstick, in the same run), HNSW with no graph file (the build at open), and HNSW again
(the restore from the saved graph). Each open answers `--queries` top-10 queries unfiltered, with a filter
passing 10% of the chunks and one passing 70%; recall@10 is against exact numpy search. CPU per query is
process time, the figure to compare on a loaded machine; memory is the RSS after the open.
Run: .venv/bin/python bench/vector_ann.py [--size 100000] [--copies 0] [--queries 300]
Results are printed and written to bench/results/vector_ann_<size>.json (or --output).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from vector_ann_libs import perturbed, rss_mb
from vector_corpus import load

from polystack.apis.vector_io.index import Chunk, ComparisonFilter, VectorIndex
from polystack.providers.inline.vector_io.sqlite_vec import create
from polystack.providers.inline.vector_io.sqlite_vec.config import SqliteVecConfig

HERE = Path(__file__).resolve().parent
STORE = "vs_ann_bench"
BATCH = 2000
FILTERS = {"none": None, "10pct": ComparisonFilter(type="eq", key="bucket", value=3),
           "70pct": ComparisonFilter(type="lt", key="bucket", value=7)}


def bucket_of(i: np.ndarray) -> np.ndarray:
    return (i // 20) % 10  # 20 chunks a file, as bench/vector_search.py


async def fill(path: Path, vectors: np.ndarray, texts: list[str]) -> float:
    index = await create(SqliteVecConfig(db_path=str(path), ann_threshold=None), {})
    await index.create_store(STORE, vectors.shape[1])
    spent = 0.0
    for start in range(0, len(vectors), BATCH):
        end = min(start + BATCH, len(vectors))
        chunks = [Chunk(chunk_id=f"c{i}", content=texts[i % len(texts)] if i < len(texts)
                        else " ".join(texts[i % len(texts)].split()[:20]), file_id=f"file{i // 20}",
                        attributes={"bucket": int(bucket_of(np.asarray(i)))}) for i in range(start, end)]
        embeddings = vectors[start:end].tolist()
        started = time.perf_counter()
        await index.add_chunks(STORE, chunks, embeddings)
        spent += time.perf_counter() - started
    await index.shutdown()
    return len(vectors) / spent


def truth(vectors: np.ndarray, queries: np.ndarray, passing: np.ndarray | None) -> list[set[int]]:
    answers = []
    for query in queries:
        scores = vectors @ query
        if passing is not None:
            scores[~passing] = -np.inf
        answers.append(set(np.argpartition(-scores, 10)[:10].tolist()))
    return answers


async def query_run(index: VectorIndex, queries: np.ndarray, condition: Any, best: list[set[int]]) -> dict[str, float]:
    times, cpu, found = [], 0.0, 0
    for query, want in zip(queries, best, strict=True):
        embedding = query.tolist()
        cpu_started, started = time.process_time(), time.perf_counter()
        results = await index.query_vector(STORE, embedding, 10, condition)
        times.append(time.perf_counter() - started)
        cpu += time.process_time() - cpu_started
        found += len({int(result.chunk.chunk_id[1:]) for result in results} & want)
    return {"p50_ms": round(float(np.percentile(times, 50)) * 1000, 2),
            "p95_ms": round(float(np.percentile(times, 95)) * 1000, 2),
            "cpu_ms_per_query": round(cpu / len(queries) * 1000, 2),
            "recall_at_10": round(found / (10 * len(queries)), 4)}


async def measure_open(path: Path, config: SqliteVecConfig, queries: np.ndarray,
                       truths: dict[str, list[set[int]]]) -> dict[str, Any]:
    started = time.perf_counter()
    index = await create(config, {})
    figures: dict[str, Any] = {"open_s": round(time.perf_counter() - started, 1), "rss_mb": round(rss_mb())}
    try:
        for query in queries[:10]:  # warm-up
            await index.query_vector(STORE, query.tolist(), 10)
        for name, condition in FILTERS.items():
            figures[name] = await query_run(index, queries, condition, truths[name])
    finally:
        await index.shutdown()
    return figures


async def main(size: int, total: int | None, copies: int, queries_count: int, ef: int, output: Path) -> None:
    base, queries, texts = load(size)
    if total is not None:  # every real vector, then perturbed copies up to `total`
        copies = max(0, -(-total // len(base)) - 1)
    vectors = perturbed(base, copies)[:total]
    queries = queries[:queries_count]
    positions = np.arange(len(vectors))
    truths = {"none": truth(vectors, queries, None), "10pct": truth(vectors, queries, bucket_of(positions) == 3),
              "70pct": truth(vectors, queries, bucket_of(positions) < 7)}
    results: dict[str, Any] = {"chunks": len(vectors), "real": len(base), "copies": copies,
                               "queries": len(queries), "ef_search": ef, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-ann-") as folder:
        path = Path(folder) / "vectors.db"
        print(f"filling {len(vectors)} chunks...", flush=True)
        results["insert_chunks_per_s"] = round(await fill(path, vectors, texts))
        opens = {"exact": SqliteVecConfig(db_path=str(path), ann_threshold=None),
                 "hnsw_build": SqliteVecConfig(db_path=str(path), ann_ef_search=ef),
                 "hnsw_restore": SqliteVecConfig(db_path=str(path), ann_ef_search=ef)}
        for name, config in opens.items():
            results[name] = await measure_open(path, config, queries, truths)
            print(name, json.dumps(results[name]), flush=True)
        graphs = list(Path(f"{path}.hnsw").glob("*.usearch"))
        results["graph_file_mb"] = round(sum(graph.stat().st_size for graph in graphs) / 2**20)
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


def table(results: dict[str, Any]) -> str:
    lines = [f"{results['chunks']} chunks ({results['real']} real), {results['queries']} queries, "
             f"insert {results['insert_chunks_per_s']}/s, graph file {results['graph_file_mb']} MB",
             f"{'open':13} {'open s':>6} {'RSS MB':>6} {'p50':>6} {'p95':>6} {'CPU/q':>6} {'recall':>6} "
             f"{'10% p95':>8} {'recall':>6} {'70% p95':>8} {'recall':>6}"]
    for name in ("exact", "hnsw_build", "hnsw_restore"):
        row = results[name]
        lines.append(f"{name:13} {row['open_s']:>6} {row['rss_mb']:>6} {row['none']['p50_ms']:>6} "
                     f"{row['none']['p95_ms']:>6} {row['none']['cpu_ms_per_query']:>6} "
                     f"{row['none']['recall_at_10']:>6} {row['10pct']['p95_ms']:>8} {row['10pct']['recall_at_10']:>6} "
                     f"{row['70pct']['p95_ms']:>8} {row['70pct']['recall_at_10']:>6}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="real passages to use (at most)")
    parser.add_argument("--total", type=int, help="chunks: the real ones plus perturbed copies up to this many")
    parser.add_argument("--copies", type=int, default=0, help="perturbed copies to add (9 with 100,000: 1M)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef", type=int, default=SqliteVecConfig().ann_ef_search, help="ann_ef_search")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    name = args.total or args.size * (1 + args.copies)
    asyncio.run(main(args.size, args.total, args.copies, args.queries, args.ef,
                     args.output or HERE / "results" / f"vector_ann_{name}.json"))
