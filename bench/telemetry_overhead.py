"""CPU per proxied request that observability and the response cache add, each in its own server process.

Configurations, all against the instant upstream (bench/instant_upstream.py), plain and streamed:
  baseline   metrics off, tracing off, no cache (the plain path)
  metrics    Prometheus metrics on (the default)
  tracing    metrics on and tracing on, exporting by OTLP/HTTP to a local receiver (every span sent)
  cache_miss metrics on and the response cache on, every request a new one (the miss path: key, lookup, store)

It reads the server process's own CPU time around each load run (steadier than requests/s on a shared
machine). The load comes from wrk when installed, else from an aiohttp client in this process.
Run: .venv/bin/python bench/telemetry_overhead.py [requests per run]
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness import cpu_seconds, remote_config, save, start_polystack, start_upstream

CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}
CONFIGS = {
    "baseline": "telemetry:\n  metrics:\n    enabled: false\n",
    "metrics": "",
    "tracing": "telemetry:\n  enabled: true\n",
    "cache_miss": "response_cache:\n  enabled: true\n",
}
CONNECTIONS = 16


class Receiver:
    """An OTLP/HTTP sink: accepts every export, counts the bytes."""

    def __init__(self) -> None:
        receiver = self
        self.bytes = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                receiver.bytes += len(self.rfile.read(int(self.headers.get("content-length", 0))))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def load(url: str, stream: bool, requests: int, unique: bool) -> None:
    import aiohttp

    counter = iter(range(10**9))

    async def worker(session: aiohttp.ClientSession, count: int) -> None:
        for _ in range(count):
            body = {**CHAT, "stream": stream}
            if unique:
                body["messages"] = [{"role": "user", "content": f"hi {next(counter)}"}]
            async with session.post(url, data=json.dumps(body), headers={"content-type": "application/json"}) as r:
                await r.read()
                assert r.status == 200, r.status

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session, requests // CONNECTIONS) for _ in range(CONNECTIONS)))


def measure(name: str, extra: str, upstream_port: int, receiver: Receiver, requests: int) -> dict[str, list[int]]:
    env_before = dict(os.environ)
    if name == "tracing":
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    os.environ["POLYSTACK_ACCESS_LOG"] = "false"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server, port, _ = start_polystack(remote_config(upstream_port, extra), Path(tmp))
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            result: dict[str, list[int]] = {}
            try:
                for kind, stream in (("plain", False), ("stream", True)):
                    asyncio.run(load(url, stream, requests // 4, name == "cache_miss"))  # warm-up
                    runs = []
                    for _ in range(3):
                        before = cpu_seconds(server.pid)
                        asyncio.run(load(url, stream, requests, name == "cache_miss"))
                        runs.append(round((cpu_seconds(server.pid) - before) / requests * 1e6))
                    result[kind] = runs
            finally:
                server.terminate()
                server.wait()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return result


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    if shutil.which("wrk"):
        print("(wrk is installed, but this bench drives varying bodies itself: aiohttp client)")
    upstream, upstream_port = start_upstream()
    receiver = Receiver()
    results: dict[str, Any] = {}
    try:
        for name, extra in CONFIGS.items():
            results[name] = measure(name, extra, upstream_port, receiver, requests)
            print(name, results[name], flush=True)
    finally:
        upstream.terminate()
    base = {kind: min(runs) for kind, runs in results["baseline"].items()}
    summary = {name: {kind: f"{(min(runs) / base[kind] - 1) * 100:+.0f}%" for kind, runs in result.items()}
               for name, result in results.items() if name != "baseline"}
    results["added_vs_baseline"] = summary
    results["otlp_bytes_received"] = receiver.bytes
    print(json.dumps(summary, indent=2))
    save("telemetry_overhead", results)


if __name__ == "__main__":
    main()
