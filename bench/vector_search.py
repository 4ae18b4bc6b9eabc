"""Vector-io providers on random data: insert rate, top-10 query latency and recall, keyword latency, reopen time.

For each size (default 10k and 100k chunks) and provider: random L2-normalised 384-d vectors and
~40-word texts drawn from a Zipf vocabulary are inserted through the VectorIndex API in batches of
1,000 (timing only the calls); then `--repeats` runs of 100 top-10 vector queries (p50/p95, and
recall@10 against exact numpy search), of 100 with a filter passing 10% of the chunks, and of 100
two-word keyword queries; then the time to open the provider again on the same files.
Random vectors are the hardest case for approximate indexes (no clusters to exploit): sqlite-vec-hnsw
(the default config) is measured here at its worst; bench/vector_ann.py measures it on real embeddings. Timings swing
when other processes share the cores, hence the repeats: compare the runs, not one figure.
Add a provider by adding an opener to PROVIDERS (e.g. pgvector, qdrant, chroma, milvus).
Run: .venv/bin/python bench/vector_search.py [--sizes 10000 100000] [--providers sqlite-vec faiss] [--repeats 3]
Results are printed and written to bench/results/vector_search.json (or --output).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import functools
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

from polystack.apis.vector_io.index import Chunk, ComparisonFilter, VectorIndex
from polystack.testing.throwaway_postgres import ThrowawayPostgres, pgserver_bin_dir

HERE = Path(__file__).resolve().parent
DIM = 384
BATCH = 1000
QUERIES = 100
STORE = "vs_bench"
Opener = Callable[[Path], Awaitable[VectorIndex]]


async def open_sqlite_vec(folder: Path, in_memory_index: bool = True, ann: bool = False) -> VectorIndex:
    from polystack.providers.inline.vector_io.sqlite_vec import create
    from polystack.providers.inline.vector_io.sqlite_vec.config import SqliteVecConfig

    config = SqliteVecConfig(db_path=str(folder / "sqlite_vec.db"), in_memory_index=in_memory_index)
    if not ann:  # the exact yardstick: this benchmark's sizes would otherwise cross the HNSW threshold
        config.ann_threshold = None
    return await create(config, {})


async def open_faiss(folder: Path, index: str = "flat") -> VectorIndex:
    from polystack.providers.inline.vector_io.faiss import create
    from polystack.providers.inline.vector_io.faiss.config import FaissConfig

    return await create(FaissConfig(persist_dir=str(folder / "faiss"), index=index), {})  # type: ignore[arg-type]


def _names_of(folder: Path) -> str:
    """A table or collection prefix named after `folder`, so that opening the provider on it again finds the store."""
    return "b" + "".join(char for char in folder.name.lower() if char.isalnum())[-20:] + "_"


@functools.cache
def _postgres() -> ThrowawayPostgres:
    """A PostgreSQL 16 + pgvector (from the pgserver wheel) for the whole run, as the tests start it."""
    bin_dir = pgserver_bin_dir()
    if bin_dir is None:
        raise SystemExit("pgvector: pip install pgserver==0.1.4")
    server = ThrowawayPostgres(bin_dir)
    atexit.register(server.stop)
    server.start()
    return server


async def open_pgvector(folder: Path) -> VectorIndex:
    from polystack.providers.remote.vector_io.pgvector import create
    from polystack.providers.remote.vector_io.pgvector.config import PgvectorConfig

    return await create(PgvectorConfig(port=_postgres().port, table_prefix=_names_of(folder)), {})


async def open_qdrant(folder: Path) -> VectorIndex:
    from polystack.providers.inline.vector_io.qdrant import create
    from polystack.providers.inline.vector_io.qdrant.config import QdrantConfig

    return await create(QdrantConfig(persist_dir=str(folder / "qdrant")), {})


async def open_milvus(folder: Path) -> VectorIndex:
    from polystack.providers.inline.vector_io.milvus import create
    from polystack.providers.inline.vector_io.milvus.config import MilvusConfig

    return await create(MilvusConfig(persist_dir=str(folder / "milvus")), {})


@functools.cache
def _chroma() -> Any:
    """A `chroma run` server (scripts/chroma-server-venv) for the whole run, as the tests start it."""
    from polystack.testing.chroma_server import ChromaServer, chroma_binary

    binary = chroma_binary()
    if binary is None:
        raise SystemExit("chromadb: run scripts/chroma-server-venv")
    server = ChromaServer(binary, Path(tempfile.mkdtemp(prefix="bench-chroma-")))
    atexit.register(server.stop)
    return server


async def open_chromadb(folder: Path) -> VectorIndex:
    from polystack.providers.remote.vector_io.chromadb import create
    from polystack.providers.remote.vector_io.chromadb.config import ChromaDBConfig

    return await create(ChromaDBConfig(url=_chroma().url, collection_prefix=_names_of(folder),
                                       keyword_index_path=str(folder / "chroma_keywords.db")), {})


PROVIDERS: dict[str, Opener] = {
    "sqlite-vec": open_sqlite_vec,
    "sqlite-vec-vec0": lambda folder: open_sqlite_vec(folder, in_memory_index=False),
    "sqlite-vec-hnsw": lambda folder: open_sqlite_vec(folder, ann=True),
    "faiss": open_faiss,
    "faiss-hnsw": lambda folder: open_faiss(folder, index="hnsw"),
    "pgvector": open_pgvector,
    "qdrant": open_qdrant,
    "chromadb": open_chromadb,
    "milvus": open_milvus,
}
DEFAULT_PROVIDERS = ["sqlite-vec", "sqlite-vec-hnsw", "faiss"]


class Corpus:
    """Reproducible vectors, texts and attributes (20 chunks a file; `bucket` = file number mod 10)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.vectors = _unit(rng.standard_normal((size, DIM), dtype=np.float32))
        self.queries = _unit(rng.standard_normal((QUERIES, DIM), dtype=np.float32))
        self.vocabulary = [f"w{i}" for i in range(20_000)]
        ranks = np.minimum(rng.zipf(1.2, size * 40), len(self.vocabulary)) - 1
        self.words = ranks.reshape(size, 40)
        self.keyword_queries = [f"w{a} w{b}" for a, b in rng.integers(50, 2000, (QUERIES, 2)).tolist()]

    def chunks(self, start: int, end: int) -> list[Chunk]:
        return [Chunk(chunk_id=f"c{i}", content=" ".join(self.vocabulary[w] for w in self.words[i]),
                      file_id=f"file{i // 20}", attributes={"bucket": (i // 20) % 10}) for i in range(start, end)]


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1000, 2)


async def insert(index: VectorIndex, corpus: Corpus) -> float:
    """Chunks per second, timing only the add_chunks calls (building the lists is the caller's cost)."""
    await index.create_store(STORE, DIM)
    spent = 0.0
    for start in range(0, len(corpus.vectors), BATCH):
        end = min(start + BATCH, len(corpus.vectors))
        chunks, embeddings = corpus.chunks(start, end), corpus.vectors[start:end].tolist()
        started = time.perf_counter()
        await index.add_chunks(STORE, chunks, embeddings)
        spent += time.perf_counter() - started
    return len(corpus.vectors) / spent


async def vector_run(index: VectorIndex, corpus: Corpus, filtered: bool) -> dict[str, float]:
    condition = ComparisonFilter(type="eq", key="bucket", value=3) if filtered else None
    times, answers = [], []
    for query in corpus.queries:
        embedding = query.tolist()
        started = time.perf_counter()
        results = await index.query_vector(STORE, embedding, 10, condition)
        times.append(time.perf_counter() - started)
        answers.append({int(result.chunk.chunk_id[1:]) for result in results})
    # Exact answers afterwards, in one matrix product, so that their CPU work never overlaps a timed query.
    scores = corpus.vectors @ corpus.queries.T
    if filtered:
        scores[(np.arange(len(corpus.vectors)) // 20) % 10 != 3] = -np.inf
    truth = np.argpartition(-scores, 10, axis=0)[:10].T
    found = sum(len(answer & set(best.tolist())) for answer, best in zip(answers, truth, strict=True))
    return {"p50_ms": _ms(times, 50), "p95_ms": _ms(times, 95), "recall_at_10": round(found / (10 * QUERIES), 4)}


async def keyword_run(index: VectorIndex, corpus: Corpus) -> dict[str, float]:
    times = []
    for text in corpus.keyword_queries:
        started = time.perf_counter()
        await index.query_keyword(STORE, text, 10)
        times.append(time.perf_counter() - started)
    return {"p50_ms": _ms(times, 50), "p95_ms": _ms(times, 95)}


async def measure(opener: Opener, corpus: Corpus, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as folder:
        index = await opener(Path(folder))
        try:
            rate = await insert(index, corpus)
            for query in corpus.queries[:5]:  # warm-up
                await index.query_vector(STORE, query.tolist(), 10)
            runs = [{"vector": await vector_run(index, corpus, False),
                     "vector_filtered_10pct": await vector_run(index, corpus, True),
                     "keyword": await keyword_run(index, corpus)} for _ in range(repeats)]
        finally:
            await index.shutdown()
        started = time.perf_counter()
        await (await opener(Path(folder))).shutdown()
        reopen = time.perf_counter() - started
    return {"insert_chunks_per_s": round(rate), "reopen_s": round(reopen, 2), "runs": runs}


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [f"{'size':>7} {'provider':16} {'insert/s':>9} {'vec p50':>8} {'vec p95 (runs)':>20} {'recall':>6} "
             f"{'filt p95':>9} {'kw p50':>7} {'reopen s':>8}"]
    for size, by_provider in results.items():
        for name, figures in by_provider.items():
            runs = figures["runs"]
            p50 = np.median([run["vector"]["p50_ms"] for run in runs])
            p95s = "/".join(f"{run['vector']['p95_ms']:.1f}" for run in runs)
            recall = min(run["vector"]["recall_at_10"] for run in runs)
            filtered = np.median([run["vector_filtered_10pct"]["p95_ms"] for run in runs])
            keyword = np.median([run["keyword"]["p50_ms"] for run in runs])
            lines.append(f"{size:>7} {name:16} {figures['insert_chunks_per_s']:>9} {p50:>8.2f} {p95s:>20} "
                         f"{recall:>6.3f} {filtered:>9.2f} {keyword:>7.2f} {figures['reopen_s']:>8.2f}")
    return "\n".join(lines)


async def main(sizes: list[int], providers: list[str], repeats: int, output: Path) -> None:
    """Measures every provider at every size, writing `output` after each: a long run keeps what it got."""
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for size in sizes:
        corpus = Corpus(size)
        for name in providers:
            print(f"{name} at {size} chunks...", flush=True)
            results.setdefault(str(size), {})[name] = await measure(PROVIDERS[name], corpus, repeats)
            figures = {"results": results, "dimension": DIM, "queries_per_run": QUERIES, "cpus": os.cpu_count(),
                       "load_average_1m": round(os.getloadavg()[0], 2)}
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(figures, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--providers", nargs="+", default=DEFAULT_PROVIDERS, choices=list(PROVIDERS))
    parser.add_argument("--repeats", type=int, default=3, help="query runs per provider and size")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "vector_search.json")
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.providers, args.repeats, args.output))
