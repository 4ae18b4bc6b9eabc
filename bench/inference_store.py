"""What storing chat completions costs: added request latency and write throughput, SQLite vs PostgreSQL.

Three Polystack servers in one run, each proxying the instant upstream: no store, SQLite, PostgreSQL
(a fresh database on 127.0.0.1:5432). wrk measures p50/p95 at concurrency 1 and requests/s at 16;
each stored run ends by counting the rows, which must equal the requests answered (nothing lost).
Run: .venv/bin/python bench/inference_store.py [--duration 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from pathlib import Path

import asyncpg
from harness import remote_config, save, start_polystack, start_upstream, wrk

CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}


def storage_yaml(kind: str, tmp: Path, db: str) -> str:
    if kind == "none":
        return ""
    if kind == "sqlite":
        backend = f"type: sql_sqlite\n      db_path: {tmp}/sql-{uuid.uuid4().hex[:6]}.db"
    else:
        backend = f"type: sql_postgres\n      db: {db}"
    return (f"storage:\n  backends:\n    sql:\n      {backend}\n"
            "  stores:\n    inference:\n      backend: sql\n")


async def count_rows(kind: str, tmp: Path, db: str) -> int | None:
    if kind == "postgres":
        connection = await asyncpg.connect(database=db, host="127.0.0.1", user="postgres")
        try:
            return int(await connection.fetchval("SELECT count(*) FROM chat_completions"))
        finally:
            await connection.close()
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    upstream, upstream_port = start_upstream()
    db = f"polystack_bench_{uuid.uuid4().hex[:8]}"
    results: dict[str, object] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in ("none", "sqlite", "postgres"):
                process, port, _ = start_polystack(
                    remote_config(upstream_port, storage_yaml(kind, Path(tmp), db)), Path(tmp))
                url = f"http://127.0.0.1:{port}/v1/chat/completions"
                try:
                    c1 = wrk(url, CHAT, 1, args.duration)
                    c16 = wrk(url, CHAT, 16, args.duration)
                finally:
                    process.terminate()
                    process.wait()
                answered = round(c1["rps"] * args.duration + c16["rps"] * args.duration)
                rows = asyncio.run(count_rows(kind, Path(tmp), db))
                results[kind] = {"c1": c1, "c16": c16, "rows": rows, "answered_approx": answered}
                print(f"{kind:8} c=1 p50 {c1['p50_ms']:.2f} ms p95 {c1['p95_ms']:.2f} ms | "
                      f"c=16 {c16['rps']:7.0f} rps p95 {c16['p95_ms']:.2f} ms | rows {rows}", flush=True)
    finally:
        upstream.terminate()
        upstream.wait()

        async def drop() -> None:
            admin = await asyncpg.connect(database="postgres", host="127.0.0.1", user="postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            await admin.close()

        asyncio.run(drop())
    base = results["none"]["c1"]["p50_ms"]  # type: ignore[index]
    for kind in ("sqlite", "postgres"):
        added = results[kind]["c1"]["p50_ms"] - base  # type: ignore[index]
        print(f"{kind}: store adds {added:.2f} ms at p50 (c=1); "
              f"throughput at c=16 is {results[kind]['c16']['rps'] / results['none']['c16']['rps']:.0%} of no store")  # type: ignore[index]
    save("inference_store", results)


if __name__ == "__main__":
    main()
