"""CPU per proxied request that observability and the response cache add, each in its own server process.

Configurations, all against the instant upstream (bench/instant_upstream.py), plain and streamed:
  baseline   metrics off, tracing off, no cache (the plain path)
  metrics    Prometheus metrics on (the default)
  metrics_otlp  the same, also pushed by OTLP/HTTP to a local receiver every second (OTEL_METRIC_EXPORT_INTERVAL)
  tracing    metrics on and tracing on, exporting by OTLP/HTTP to a local receiver (every span sent)
  tracing_10pct  the same, sampling 10% of traces (OTEL_TRACES_SAMPLER=parentbased_traceidratio, ARG 0.1)
  cache_miss metrics on and the response cache on, every request a new one (the miss path: key, lookup, store)

It reads the server process's own CPU time around each load run (steadier than requests/s on a shared
machine), the servers measured in interleaved rounds; the load is an aiohttp client in this process
(16 connections; the cache_miss bodies differ, which wrk's fixed body cannot do).
Run: .venv/bin/python bench/telemetry_overhead.py [requests per run] [rounds] [--before SRC]
With `--before SRC` (another checkout's src/, e.g. the commit before a change), its tracing servers run too
(`tracing@before`, `tracing_10pct@before`), in the same rounds: a before/after comparison under one load.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
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
    "metrics_otlp": "",  # OTEL_EXPORTER_OTLP_METRICS_ENDPOINT set, exported every second
    "tracing": "telemetry:\n  enabled: true\n",
    "tracing_10pct": "telemetry:\n  enabled: true\n",  # OTEL_TRACES_SAMPLER=parentbased_traceidratio, 0.1
    "cache_miss": "response_cache:\n  enabled: true\n",
}
CONNECTIONS = 16


class Receiver:
    """An OTLP/HTTP sink: accepts every export, counts the bytes."""

    def __init__(self) -> None:
        receiver = self
        self.bytes = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bytes += len(self.rfile.read(int(self.headers.get("content-length", 0))))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


_COUNTER = iter(range(10**12))  # every request of the cache_miss runs is a new one, across runs


async def load(url: str, stream: bool, requests: int, unique: bool) -> None:
    import aiohttp

    async def worker(session: aiohttp.ClientSession, count: int) -> None:
        for _ in range(count):
            body = {**CHAT, "stream": stream}
            if unique:
                body["messages"] = [{"role": "user", "content": f"hi {next(_COUNTER)}"}]
            async with session.post(url, data=json.dumps(body), headers={"content-type": "application/json"}) as r:
                await r.read()
                assert r.status == 200, r.status

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session, requests // CONNECTIONS) for _ in range(CONNECTIONS)))


def start(name: str, extra: str, upstream_port: int, receiver: Receiver, workdir: Path,
          before_src: str | None = None) -> tuple[Any, str]:
    """One server per configuration (tracing's exports to the receiver), access log off in all; a name
    ending in `@before` runs the code of `before_src`."""
    env_before = dict(os.environ)
    if name.endswith("@before"):
        assert before_src is not None
        os.environ["PYTHONPATH"] = before_src
        name = name.removesuffix("@before")
    if name.startswith("tracing"):
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    if name == "metrics_otlp":
        os.environ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = f"{receiver.endpoint}/v1/metrics"
        os.environ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000"
    if name == "tracing_10pct":
        os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
        os.environ["OTEL_TRACES_SAMPLER_ARG"] = "0.1"
    os.environ["POLYSTACK_ACCESS_LOG"] = "false"
    try:
        server, port, _ = start_polystack(remote_config(upstream_port, extra), workdir)
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return server, f"http://127.0.0.1:{port}/v1/chat/completions"


def main() -> None:
    args = sys.argv[1:]
    before_src = None
    if "--before" in args:
        at = args.index("--before")
        before_src = str(Path(args[at + 1]).resolve())
        del args[at:at + 2]
    requests = int(args[0]) if args else 2000
    rounds = int(args[1]) if len(args) > 1 else 5
    configs = dict(CONFIGS)
    if before_src is not None:
        configs.update({f"{name}@before": CONFIGS[name] for name in ("tracing", "tracing_10pct")})
    upstream, upstream_port = start_upstream()
    receiver = Receiver()
    results: dict[str, Any] = {name: {"plain": [], "stream": []} for name in configs}
    servers: dict[str, tuple[Any, str]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, extra in configs.items():
                servers[name] = start(name, extra, upstream_port, receiver, Path(tmp), before_src)
            for name, (_, url) in servers.items():  # warm-up
                for stream in (False, True):
                    asyncio.run(load(url, stream, requests // 4, name == "cache_miss"))
            # rounds interleave the configurations, so the machine's drift (a shared box) hits them alike
            for _ in range(rounds):
                for kind, stream in (("plain", False), ("stream", True)):
                    for name, (server, url) in servers.items():
                        before = cpu_seconds(server.pid)
                        asyncio.run(load(url, stream, requests, name == "cache_miss"))
                        results[name][kind].append(round((cpu_seconds(server.pid) - before) / requests * 1e6))
                print({name: {kind: sorted(runs) for kind, runs in result.items()}
                       for name, result in results.items()}, flush=True)
    finally:
        for server, _ in servers.values():
            server.terminate()
        upstream.terminate()
    median = {name: {kind: statistics.median(runs) for kind, runs in result.items()}
              for name, result in results.items()}
    summary = {name: {kind: f"{(value / median['baseline'][kind] - 1) * 100:+.0f}%" for kind, value in m.items()}
               for name, m in median.items() if name != "baseline"}
    print("median us CPU/request:", json.dumps(median))
    print("added vs baseline:", json.dumps(summary))
    save("telemetry_overhead", {"us_cpu_per_request": results, "median": median, "added_vs_baseline": summary,
                                "otlp_bytes_received": receiver.bytes, "requests_per_run": requests,
                                "connections": CONNECTIONS})


if __name__ == "__main__":
    main()
