"""Vector-store ingestion throughput with the embedded embedding model: chunks parsed, embedded and indexed per second.

In-process (the same app the server runs): upload documents through the Files API, attach them to a
store on the default sqlite-vec provider, and time until every file is `completed`.
Run: .venv/bin/python bench/ingestion.py [--documents 40] [--paragraphs 60]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from harness import save

import polystack
from polystack.core.config import parse_run_config

WORDS = ("llama alpaca mirror telescope orbit harvest river mountain engine protocol storage replica "
         "journal ingest vector keyword hybrid search filter chunk token model server latency").split()


def document(rng: random.Random, paragraphs: int) -> bytes:
    return "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(60)) + "." for _ in range(paragraphs)).encode()


def config(tmp: Path):  # type: ignore[no-untyped-def]
    return parse_run_config({
        "distro_name": "ingest-bench", "apis": ["inference", "files", "vector_io"],
        "providers": {
            "inference": [{"provider_id": "onnx", "provider_type": "inline::onnx"}],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                       "config": {"storage_dir": str(tmp / "files")}}],
            "vector_io": [{"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec",
                           "config": {"db_path": str(tmp / "vec.db")}}],
        },
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp / "sql.db")}},
                    "stores": {"vector_stores": {"backend": "sql"}}},
        "vector_stores": {"default_embedding_model": "onnx/all-MiniLM-L6-v2", "ingestion_concurrency": 2},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


async def run(documents: int, paragraphs: int) -> dict[str, float]:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        async with polystack.connect(config(Path(tmp))) as stack:
            client = stack.openai
            ids = [(await client.files.create(file=(f"doc{i}.txt", document(rng, paragraphs)),
                                              purpose="assistants")).id for i in range(documents)]
            started = time.perf_counter()
            store = await client.vector_stores.create(name="bench", file_ids=ids, chunking_strategy={
                "type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}})
            while (await client.vector_stores.retrieve(store.id)).file_counts.in_progress:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            chunks = 0
            for file_id in ids:
                content = (await stack.http.get(f"/v1/vector_stores/{store.id}/files/{file_id}/content")).json()
                chunks += len(content["data"])
    return {"documents": documents, "chunks": chunks, "seconds": round(elapsed, 2),
            "chunks_per_s": round(chunks / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--paragraphs", type=int, default=60)
    args = parser.parse_args()
    result = asyncio.run(run(args.documents, args.paragraphs))
    print(f"{result['documents']} documents, {result['chunks']} chunks of 200 tokens in {result['seconds']} s: "
          f"{result['chunks_per_s']} chunks/s (parse + chunk + embed with all-MiniLM-L6-v2 + index)")
    save("ingestion", result)


if __name__ == "__main__":
    main()
