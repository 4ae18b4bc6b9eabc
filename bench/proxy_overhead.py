"""Polystack's added cost as a proxy, measured against calling an instant upstream directly.

One run starts the instant upstream (bench/instant_upstream.py), a Polystack server with only a
remote provider pointing at it, and the cheapest possible Python proxy (bench/bare_proxy.py: raw ASGI
+ aiohttp, no features) as a yardstick, then drives all three with wrk over loopback:
  - latency p50/p95 at concurrency 1 (added = proxied - direct)
  - requests/s at concurrency 16, 64 and 256, non-streaming and streaming (20 SSE chunks)
  - Polystack's CPU time per request (steadier than wall-clock figures when the machine is shared), and
    per streamed chunk: (stream - plain CPU per request at c=16) / 20
  - what the inference store (on by default) costs: plain c=16 again with `"store": false`
  - Polystack's start-to-ready time and idle RSS
and ends with issue #15's targets, each met or not. Needs `wrk` (Debian package).
Run: .venv/bin/python bench/proxy_overhead.py [--duration 5] [--src OTHER_CHECKOUT/src]
Results are printed and written to bench/results/proxy_overhead.json.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import (
    cpu_seconds,
    remote_config,
    rss_mb,
    save,
    start_bare_proxy,
    start_polystack,
    start_upstream,
    wrk,
)

CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--src", help="run Polystack from this source folder (another checkout, to compare)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64, 256])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    upstream, upstream_port = start_upstream()
    bare, bare_port = start_bare_proxy(upstream_port)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        polystack, port, ready_s = start_polystack(remote_config(upstream_port), Path(tmp), args.src)
        try:
            time.sleep(1)
            results["start_to_ready_s"] = round(ready_s, 3)
            results["idle_rss_mb"] = round(rss_mb(polystack.pid), 1)
            direct = f"http://127.0.0.1:{upstream_port}/v1/chat/completions"
            proxied = f"http://127.0.0.1:{port}/v1/chat/completions"
            barely = f"http://127.0.0.1:{bare_port}/v1/chat/completions"
            for streaming in (False, True):
                kind = "stream" if streaming else "plain"
                extra = {"stream": True} if streaming else {}
                for connections in args.connections:
                    d = wrk(direct, {**CHAT, "model": "instant-model", **extra}, connections, args.duration)
                    b = wrk(barely, {**CHAT, "model": "instant-model", **extra}, connections, args.duration)
                    cpu_before = cpu_seconds(polystack.pid)
                    p = wrk(proxied, {**CHAT, **extra}, connections, args.duration)
                    used = cpu_seconds(polystack.pid) - cpu_before
                    p["cpu_us_per_request"] = round(used / max(p["requests"], 1) * 1e6)
                    results[f"{kind}_c{connections}"] = {
                        "direct": d, "bare_python_proxy": b, "polystack": p,
                        "added_p50_ms": round(p["p50_ms"] - d["p50_ms"], 3),
                        "added_p95_ms": round(p["p95_ms"] - d["p95_ms"], 3),
                        "throughput_ratio": round(p["rps"] / d["rps"], 3),
                        "bare_proxy_ratio": round(b["rps"] / d["rps"], 3),
                        "ratio_to_bare_proxy": round(p["rps"] / b["rps"], 3),
                    }
                    print(f"{kind:6} c={connections:<3} direct {d['rps']:8.0f} rps p50 {d['p50_ms']:.2f} ms | "
                          f"bare proxy {b['rps']:6.0f} rps ({b['rps'] / d['rps']:.2f}) | "
                          f"polystack {p['rps']:8.0f} rps p50 {p['p50_ms']:.2f} p95 {p['p95_ms']:.2f} ms "
                          f"errors {p['errors']} | ratio {p['rps'] / d['rps']:.2f} | "
                          f"{p['cpu_us_per_request']} us CPU/request", flush=True)
            results["store_on_off"] = store_on_off(polystack.pid, proxied, args.duration)
            results["loaded_rss_mb"] = round(rss_mb(polystack.pid), 1)
        finally:
            for process in (polystack, bare, upstream):
                process.terminate()
                process.wait()
    print(f"start-to-ready {results['start_to_ready_s']} s, idle RSS {results['idle_rss_mb']} MB, "
          f"RSS after load {results['loaded_rss_mb']} MB")
    results["targets"] = targets(results)
    save("proxy_overhead", results)


def store_on_off(pid: int, url: str, duration: int) -> dict[str, list[float]]:
    """Plain c=16 with the store on (the default) and off (`"store": false`), alternating three times so a
    change of load on the machine hits both alike: requests/s and CPU per request of each run."""
    runs: dict[str, list[float]] = {"on_rps": [], "off_rps": [], "on_cpu_us": [], "off_cpu_us": []}
    for _ in range(3):
        for name, body in (("on", CHAT), ("off", {**CHAT, "store": False})):
            before = cpu_seconds(pid)
            load = wrk(url, body, 16, duration)
            runs[f"{name}_rps"].append(load["rps"])
            runs[f"{name}_cpu_us"].append(round((cpu_seconds(pid) - before) / max(load["requests"], 1) * 1e6))
    print(f"plain  c=16  store on {runs['on_rps']} rps {runs['on_cpu_us']} us CPU/request | "
          f"store off {runs['off_rps']} rps {runs['off_cpu_us']} us CPU/request", flush=True)
    return runs


def targets(results: dict[str, Any]) -> dict[str, dict[str, object]]:
    """Issue #15's targets against this run's figures (those the run measured)."""
    found: dict[str, dict[str, object]] = {}

    def check(name: str, value: float, met: bool) -> None:
        found[name] = {"value": value, "met": met}
        print(f"target {name:42} {value:>9} {'met' if met else 'NOT met'}")

    plain, stream = results.get("plain_c16"), results.get("stream_c16")
    if plain is not None:
        check("plain c=16 ratio to bare proxy >= 0.5", plain["ratio_to_bare_proxy"],
              plain["ratio_to_bare_proxy"] >= 0.5)
    if stream is not None:
        check("stream c=16 ratio to bare proxy >= 0.4", stream["ratio_to_bare_proxy"],
              stream["ratio_to_bare_proxy"] >= 0.4)
    if plain is not None and stream is not None:
        chunks_cpu = stream["polystack"]["cpu_us_per_request"] - plain["polystack"]["cpu_us_per_request"]
        per_chunk = round(chunks_cpu / 20, 1)
        check("CPU per streamed chunk < 25 us", per_chunk, per_chunk < 25)
    one = results.get("plain_c1")
    if one is not None:
        check("added p50 at c=1 <= 0.5 ms", one["added_p50_ms"], one["added_p50_ms"] <= 0.5)
    store = results.get("store_on_off")
    if store is not None:  # CPU per request: steadier than requests/s on a shared machine
        cost = round(statistics.median(store["on_cpu_us"]) / statistics.median(store["off_cpu_us"]) - 1, 3)
        check("store on costs <= 10% over store off (CPU)", cost, cost <= 0.10)
    for kind in ("plain", "stream"):
        base = results.get(f"{kind}_c16")
        for connections in (64, 256):
            high = results.get(f"{kind}_c{connections}")
            if base is not None and high is not None:
                ratio = round(high["polystack"]["rps"] / base["polystack"]["rps"], 3)
                check(f"{kind} c={connections} within 10% of c=16, no errors", ratio,
                      ratio >= 0.9 and high["polystack"]["errors"] == 0)
    return found


if __name__ == "__main__":
    main()
