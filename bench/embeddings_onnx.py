"""Sentences per second of inline::onnx (all-MiniLM-L6-v2 int8), through the provider's own API.

Times `EmbeddingsAdapter.embeddings` end to end (tokenise, run, pool, build the response) on a fixed
set of 64 English sentences of 5-30 words, one request at a time, for requests of 1 and of 32
sentences; also the model's load time. Timings swing a lot when other processes share the cores.
Run: .venv/bin/python bench/embeddings_onnx.py [--seconds 5] [--intra-op-threads 2]
Results are printed and written to bench/results/embeddings_onnx.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

from polystack.apis.inference.types import EmbeddingsRequest
from polystack.providers.inline.inference.onnx import create
from polystack.providers.inline.inference.onnx.config import OnnxEmbeddingsConfig

HERE = Path(__file__).resolve().parent
SUBJECTS = ["The committee", "A small dog", "Our new server", "The river", "My grandmother", "This library",
            "A tired engineer", "The museum"]
CLAUSES = ["approved the budget", "ran across the frozen park", "answers requests in a few milliseconds",
           "floods every spring after the snow melts in the mountains", "baked bread for the whole village",
           "parses configuration files and reports every error with its location",
           "fixed the failing test before lunch", "opened a new wing dedicated to early photography"]
TAILS = ["", " yesterday.", " because nobody else wanted to do it, which surprised everyone in the room.",
         " while the rest of the team was still arguing about naming conventions and code style."]


def sentences() -> list[str]:
    """64 different sentences, from 5 to about 30 words."""
    return [f"{SUBJECTS[i % 8]} {CLAUSES[i // 8]}{TAILS[(i + i // 8) % 4] or '.'}" for i in range(64)]


async def rate(adapter: object, texts: list[str], batch: int, seconds: float) -> float:
    """Sentences per second sending requests of `batch` sentences, one after another."""
    embed = adapter.embeddings  # type: ignore[attr-defined]
    await embed(EmbeddingsRequest(model="all-MiniLM-L6-v2", input=texts[:batch]))  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for start in range(0, len(texts), batch):
            await embed(EmbeddingsRequest(model="all-MiniLM-L6-v2", input=texts[start : start + batch]))
            done += len(texts[start : start + batch])
    return done / (time.perf_counter() - started)


async def main(seconds: float, threads: int | None) -> dict[str, float | int | None]:
    started = time.perf_counter()
    adapter = await create(OnnxEmbeddingsConfig(intra_op_threads=threads), {})
    load = time.perf_counter() - started
    texts = sentences()
    try:
        results = {f"batch_{batch}_sentences_per_s": round(await rate(adapter, texts, batch, seconds), 1)
                   for batch in (1, 32)}
    finally:
        await adapter.shutdown()
    return {"load_s": round(load, 3), **results, "intra_op_threads": threads, "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="time spent on each batch size")
    parser.add_argument("--intra-op-threads", type=int, default=None, help="default: onnxruntime chooses")
    args = parser.parse_args()
    figures = asyncio.run(main(args.seconds, args.intra_op_threads))
    for name, value in figures.items():
        print(f"{name:28} {value}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "embeddings_onnx.json").write_text(json.dumps(figures, indent=2) + "\n")
