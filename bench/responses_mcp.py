"""Server time an mcp_call round trip adds to a response (in-process, the test MCP server on loopback).

Wall time per request, median of 5 runs of N requests each, of:
- `plain`: a no-tool response (one model call); `plain_continued`: the same by previous_response_id (a stored
  response read first: it waits for this replica's pending writes, see core/responses/store.py);
- `mcp_call`: a response whose model calls the MCP tool `echo`, then answers (two model calls, one tools/call),
  continuing the first such response by previous_response_id (its tool listing reused: no tools/list);
- `mcp_call_listed`: the same, starting a new chain each time (one tools/list more);
- `raw_call`: the same tools/call made directly with the MCP client (pooled session).
`added_by_engine` = mcp_call - plain_continued - raw_call: the engine's own cost of the call (items, events, the second
model call's request, storing more), the MCP round trip itself excluded. The scripted model answers at once.

Run: .venv/bin/python bench/responses_mcp.py [N]   (writes bench/results/responses_mcp.json)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polystack
from polystack.core.config import parse_run_config
from polystack.providers.utils.mcp.client import McpClient
from polystack.testing.mcp_servers import ToolServer

CALL = {"tool_calls": [{"name": "echo", "arguments": '{"text": "hi"}'}]}


def config(folder: Path) -> Any:
    return parse_run_config({
        "distro_name": "bench", "apis": ["inference", "responses"],
        "providers": {"inference": [
            {"provider_id": "scripted", "provider_type": "inline::scripted",
             "config": {"replies": [{"content": "hello"}]}},
            {"provider_id": "tools", "provider_type": "inline::scripted",
             "config": {"models": ["tool-model"], "replies": [CALL, {"content": "done"}]}}]},
        "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(folder / "sql.db")},
                                 "kv": {"type": "kv_sqlite", "db_path": str(folder / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "responses": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


async def per_request_ms(one: Any, requests: int) -> float:
    for _ in range(10):
        await one()
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(requests):
            await one()
        runs.append((time.perf_counter() - started) / requests * 1e3)
    return statistics.median(runs)


async def main(requests: int) -> dict[str, Any]:
    with ToolServer() as server, tempfile.TemporaryDirectory() as tmp:
        tool = {"type": "mcp", "server_label": "tools", "server_url": server.http_url, "require_approval": "never"}
        async with polystack.connect(config(Path(tmp))) as stack, McpClient() as client:
            http = stack.http
            first = await http.post("/v1/responses", json={"model": "tools/tool-model", "input": "go",
                                                           "tools": [tool]})
            assert first.status_code == 200, first.text
            chain = {"id": first.json()["id"]}  # every measured response continues this one (a chain of 2)

            async def plain() -> None:
                reply = await http.post("/v1/responses", json={"model": "scripted/scripted-model", "input": "hi"})
                assert reply.status_code == 200, reply.text

            plain_first = (await http.post("/v1/responses", json={"model": "scripted/scripted-model",
                                                                  "input": "hi"})).json()["id"]

            async def plain_continued() -> None:
                reply = await http.post("/v1/responses", json={"model": "scripted/scripted-model", "input": "hi",
                                                               "previous_response_id": plain_first})
                assert reply.status_code == 200, reply.text

            async def mcp_call(new_chain: bool = False) -> None:
                body: dict[str, Any] = {"model": "tools/tool-model", "input": "go", "tools": [tool]}
                if not new_chain:
                    body["previous_response_id"] = chain["id"]
                reply = await http.post("/v1/responses", json=body)
                assert reply.status_code == 200, reply.text
                output = reply.json()["output"]
                assert output[-2]["type"] == "mcp_call" and output[-2]["status"] == "completed", output

            async def raw_call() -> None:
                result = await client.call_tool(server.http_url, None, "echo", {"text": "hi"})
                assert result.text == "hi"

            async def listed() -> None:
                await mcp_call(new_chain=True)

            results = {
                "plain_ms": await per_request_ms(plain, requests),
                "plain_continued_ms": await per_request_ms(plain_continued, requests),
                "mcp_call_ms": await per_request_ms(mcp_call, requests),
                "mcp_call_listed_ms": await per_request_ms(listed, requests),
                "raw_call_ms": await per_request_ms(raw_call, requests),
            }
    results["added_by_engine_ms"] = results["mcp_call_ms"] - results["plain_continued_ms"] - results["raw_call_ms"]
    results = {name: round(value, 3) for name, value in results.items()}
    for name, value in results.items():
        print(f"{name:22} {value:8.3f} ms", flush=True)
    return results


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    outcome = asyncio.run(main(count))
    sys.path.insert(0, str(Path(__file__).parent))
    from harness import save

    save("responses_mcp", {"requests_per_run": count, "wall_ms_per_request": outcome})
