"""The MCP tool runtime's cost: what the server adds per tool invocation over calling the MCP server directly,
and what the tool-list cache saves.

The test tool server (polystack.testing.mcp_servers.ToolServer, streamable HTTP on loopback) answers `echo`.
Measured sequentially (one call at a time, so the figures are latencies, not throughput), `--calls` each:
- direct: McpClient.call_tool on a pooled session (what any well-written client pays);
- over HTTP: POST /v1/tool-runtime/invoke on a real `polystack run` (scripted inference, remote MCP provider);
- in-process: the same request through the library's ASGI transport (no socket, no HTTP parsing);
- list-tools by mcp_endpoint in-process with the tool-list cache on (ttl 300 s) and off (ttl 0), with the
  tools/list requests the MCP server actually received.
Run: .venv/bin/python bench/tool_runtime.py [--calls 300]; results in bench/results/tool_runtime.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from harness import save, start_polystack

import polystack
from polystack.core.config import parse_run_config
from polystack.providers.utils.mcp import McpClient
from polystack.testing.mcp_servers import ToolServer

CONFIG = """distro_name: bench-tools
providers:
  inference:
  - provider_id: scripted
    provider_type: inline::scripted
  tool_runtime:
  - provider_id: mcp
    provider_type: remote::model-context-protocol
storage:
  backends:
    kv: {{type: kv_sqlite, db_path: {dir}/kv.db}}
    sql: {{type: sql_sqlite, db_path: {dir}/sql.db}}
  stores:
    metadata: {{backend: kv}}
    inference: {{backend: sql}}
models: {{refresh_interval_seconds: 0}}
"""


ECHO = {"tool_name": "bench/echo", "kwargs": {"text": "ping"}}


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


async def timed(calls: int, once: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    for _ in range(10):  # warm up: sessions open, caches fill
        await once()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await once()
        samples.append(time.perf_counter() - started)
    return summary(samples)


def library_config(workdir: Path, ttl: float) -> Any:
    return parse_run_config({
        "distro_name": "bench-tools",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}],
                      "tool_runtime": [{"provider_id": "mcp", "provider_type": "remote::model-context-protocol",
                                        "config": {"tool_list_ttl": ttl}}]},
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(workdir / f"kv-{ttl}.db")},
                                 "sql": {"type": "sql_sqlite", "db_path": str(workdir / f"sql-{ttl}.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


async def direct(server: ToolServer, calls: int) -> dict[str, float]:
    async with McpClient() as client:
        return await timed(calls, lambda: client.call_tool(server.http_url, {}, "echo", {"text": "ping"}))


async def over_http(server: ToolServer, calls: int, workdir: Path) -> dict[str, float]:
    process, port, _ = start_polystack(CONFIG.format(dir=workdir), workdir)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            registered = await http.post("/v1/toolgroups", json={
                "toolgroup_id": "bench", "provider_id": "mcp", "mcp_endpoint": {"uri": server.http_url}})
            registered.raise_for_status()
            return await timed(calls, lambda: http.post("/v1/tool-runtime/invoke", json=ECHO))
    finally:
        process.terminate()
        process.wait(30)


async def in_process(server: ToolServer, calls: int, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for ttl in (300.0, 0.0):
        async with polystack.connect(library_config(workdir, ttl)) as stack:
            if ttl:
                await stack.http.post("/v1/toolgroups", json={
                    "toolgroup_id": "bench", "provider_id": "mcp", "mcp_endpoint": {"uri": server.http_url}})
                results["invoke"] = await timed(calls, lambda: stack.http.post("/v1/tool-runtime/invoke", json=ECHO))
            before = server.stats.listings
            listing = await timed(calls, lambda: stack.http.get(
                "/v1/tool-runtime/list-tools", params={"mcp_endpoint": server.http_url}))
            listing["server_listings"] = server.stats.listings - before
            results[f"list_tools_ttl_{int(ttl)}"] = listing
    return results


async def main(calls: int) -> None:
    with ToolServer() as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results: dict[str, Any] = {"calls": calls, "direct_invoke": await direct(server, calls)}
        results["http_invoke"] = await over_http(server, calls, workdir)
        results["in_process"] = await in_process(server, calls, workdir)
    base = results["direct_invoke"]["p50_ms"]
    results["added_p50_ms"] = {"http": round(results["http_invoke"]["p50_ms"] - base, 3),
                               "in_process": round(results["in_process"]["invoke"]["p50_ms"] - base, 3)}
    save("tool_runtime", results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    asyncio.run(main(parser.parse_args().calls))
