"""Polystack's memory growth under sustained proxying, after warm-up: it must stay under 10%.

Starts the instant upstream (bench/instant_upstream.py) and a Polystack server with only a remote
provider pointing at it, warms it up, then drives it with wrk (plain and streaming chat completions in
turn, keep-alive connections) until --requests more have been answered, sampling RSS after each run.
Needs `wrk` (Debian package). Run: .venv/bin/python bench/memory_growth.py [--requests 50000]
Results are printed and written to bench/results/memory_growth.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import remote_config, rss_mb, save, start_polystack, start_upstream, wrk

CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}
RUN_SECONDS = 4


def drive(url: str, requests: int, connections: int) -> int:
    """Runs wrk, alternating plain and streaming requests, until `requests` have been answered."""
    done = 0
    streaming = False
    while done < requests:
        result = wrk(url, {**CHAT, "stream": streaming}, connections, RUN_SECONDS)
        if result["errors"]:
            sys.exit(f"{result['errors']} requests failed")
        done += int(result["requests"])
        streaming = not streaming
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50_000, help="requests after warm-up")
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--store", choices=("none", "sqlite"), default="sqlite",
                        help="keep chat completions in an SQLite inference store, as `starter` does")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    upstream, upstream_port = start_upstream()
    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        storage = (f"storage:\n  backends:\n    sql:\n      type: sql_sqlite\n      db_path: {tmp}/store.db\n"
                   "  stores:\n    inference:\n      backend: sql\n") if args.store == "sqlite" else ""
        polystack, port, _ = start_polystack(remote_config(upstream_port, storage), Path(tmp))
        try:
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            drive(url, args.warmup, args.connections)
            time.sleep(1)
            samples.append((0, rss_mb(polystack.pid)))
            print(f"after warm-up: {samples[0][1]:.1f} MB", flush=True)
            total = 0
            while total < args.requests:
                total += drive(url, min(10_000, args.requests - total), args.connections)
                time.sleep(1)
                samples.append((total, rss_mb(polystack.pid)))
                print(f"{total:7d} requests: {samples[-1][1]:.1f} MB", flush=True)
        finally:
            for process in (polystack, upstream):
                process.terminate()
                process.wait()
    warm, last = samples[0][1], samples[-1][1]
    growth = (last - warm) / warm * 100
    print(f"growth after warm-up: {warm:.1f} -> {last:.1f} MB ({growth:+.1f}%) over {samples[-1][0]} requests")
    save("memory_growth", {
        "store": args.store, "connections": args.connections, "warm_rss_mb": round(warm, 1),
        "final_rss_mb": round(last, 1), "growth_percent": round(growth, 1), "requests_after_warmup": samples[-1][0],
        "samples": [{"requests": n, "rss_mb": round(mb, 1)} for n, mb in samples]})


if __name__ == "__main__":
    main()
