"""Polystack's added cost as a proxy, measured against calling an instant upstream directly.

One run starts the instant upstream (bench/instant_upstream.py) and a Polystack server with only a
remote provider pointing at it, then drives both with wrk over loopback:
  - latency p50/p95 at concurrency 1 (added = proxied - direct)
  - requests/s at concurrency 16 and 64, non-streaming and streaming (20 SSE chunks)
  - Polystack's start-to-ready time and idle RSS
Needs `wrk` (Debian package). Run: .venv/bin/python bench/proxy_overhead.py [--duration 5]
Results are printed and written to bench/results/proxy_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}
UPSTREAM_CHAT = {**CHAT, "model": "instant-model"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 30) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            httpx.get(url, timeout=0.5)
            return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} not ready")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url: str, body: dict, connections: int, duration: int) -> dict[str, float]:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                 'wrk.headers["Content-Type"] = "application/json"\n'
                 'done = function(summary, latency, requests)\n'
                 '  io.write(string.format("P50 %d\\nP95 %d\\n", latency:percentile(50), latency:percentile(95)))\n'
                 'end\n')
    script.close()
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": int(re.search(r"P50 (\d+)", out).group(1)) / 1000,
        "p95_ms": int(re.search(r"P95 (\d+)", out).group(1)) / 1000,
        "errors": int(errors.group(1)) if errors else 0,
    }


def start_polystack(upstream_port: int, port: int, workdir: Path) -> tuple[subprocess.Popen[bytes], float]:
    config = workdir / "bench.yaml"
    config.write_text(
        "version: 2\ndistro_name: bench\nproviders:\n  inference:\n  - provider_id: upstream\n"
        f"    provider_type: remote::vllm\n    config:\n      url: http://127.0.0.1:{upstream_port}/v1\n"
        "models:\n  refresh_interval_seconds: 0\n")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "polystack.cli.main", "run", str(config), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/v1/health")
    return process, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    upstream_port, polystack_port = free_port(), free_port()
    upstream = subprocess.Popen([sys.executable, str(HERE / "instant_upstream.py"), "--port", str(upstream_port)])
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        wait_ready(f"http://127.0.0.1:{upstream_port}/v1/models")
        polystack, ready_s = start_polystack(upstream_port, polystack_port, Path(tmp))
        try:
            time.sleep(1)
            results["start_to_ready_s"] = round(ready_s, 3)
            results["idle_rss_mb"] = round(rss_mb(polystack.pid), 1)
            direct = f"http://127.0.0.1:{upstream_port}/v1/chat/completions"
            proxied = f"http://127.0.0.1:{polystack_port}/v1/chat/completions"
            for streaming in (False, True):
                kind = "stream" if streaming else "plain"
                extra = {"stream": True} if streaming else {}
                for connections in (1, 16, 64):
                    d = wrk(direct, {**UPSTREAM_CHAT, **extra}, connections, args.duration)
                    p = wrk(proxied, {**CHAT, **extra}, connections, args.duration)
                    results[f"{kind}_c{connections}"] = {
                        "direct": d, "polystack": p,
                        "added_p50_ms": round(p["p50_ms"] - d["p50_ms"], 3),
                        "added_p95_ms": round(p["p95_ms"] - d["p95_ms"], 3),
                        "throughput_ratio": round(p["rps"] / d["rps"], 3),
                    }
                    print(f"{kind:6} c={connections:<3} direct {d['rps']:8.0f} rps p50 {d['p50_ms']:.2f} ms | "
                          f"polystack {p['rps']:8.0f} rps p50 {p['p50_ms']:.2f} p95 {p['p95_ms']:.2f} ms "
                          f"errors {p['errors']} | ratio {p['rps'] / d['rps']:.2f}", flush=True)
            results["loaded_rss_mb"] = round(rss_mb(polystack.pid), 1)
        finally:
            polystack.terminate()
            upstream.terminate()
            polystack.wait()
            upstream.wait()
    print(f"start-to-ready {results['start_to_ready_s']} s, idle RSS {results['idle_rss_mb']} MB, "
          f"RSS after load {results['loaded_rss_mb']} MB")
    out = HERE / "results" / "proxy_overhead.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
