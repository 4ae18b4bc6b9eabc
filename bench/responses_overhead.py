"""Server time a no-tool Responses call adds over the same chat completion, streamed and not (in-process).

Both go through the same ASGI app (`polystack.connect`, no socket) to the scripted model, so the difference
is the Responses layer: request model, engine, events, and (store=true) the stored response. CPU time per
request, median of 5 runs of N requests each; the client's own work is the same on both sides and cancels.

Run: .venv/bin/python bench/responses_overhead.py [N]   (writes bench/results/responses_overhead.json)
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

MODEL = "scripted/scripted-model"
TEXT = "one two three four five six seven eight"


def config(folder: Path) -> Any:
    sql = {"type": "sql_sqlite", "db_path": str(folder / "sql.db")}
    return parse_run_config({
        "distro_name": "bench", "apis": ["inference", "responses"],
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"replies": [{"content": TEXT}]}}]},
        "storage": {"backends": {"sql": sql, "kv": {"type": "kv_sqlite", "db_path": str(folder / "kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"},
                               "responses": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }, env={})


def bodies(stream: bool, store: bool) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": stream, "store": store}
    response = {"model": MODEL, "input": "hi", "stream": stream, "store": store}
    return ("/v1/chat/completions", chat), ("/v1/responses", response)


async def cpu_us(http: Any, path: str, body: dict[str, Any], requests: int) -> float:
    async def one() -> None:
        reply = await http.post(path, json=body)
        assert reply.status_code == 200, reply.text
        await reply.aread()

    for _ in range(50):
        await one()
    started = time.process_time()
    for _ in range(requests):
        await one()
    return (time.process_time() - started) / requests * 1e6


async def main(requests: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with polystack.connect(config(Path(tmp))) as stack:
            for stream in (False, True):
                for store in (False, True):
                    (chat_path, chat), (resp_path, resp) = bodies(stream, store)
                    chat_runs, resp_runs = [], []
                    for _ in range(5):
                        chat_runs.append(await cpu_us(stack.http, chat_path, chat, requests))
                        resp_runs.append(await cpu_us(stack.http, resp_path, resp, requests))
                    chat_us, resp_us = statistics.median(chat_runs), statistics.median(resp_runs)
                    name = f"{'stream' if stream else 'plain'}, store={str(store).lower()}"
                    results[name] = {"chat_us": round(chat_us), "responses_us": round(resp_us),
                                     "added_us": round(resp_us - chat_us)}
                    print(f"{name:22} chat {chat_us:7.0f} us  responses {resp_us:7.0f} us  "
                          f"added {resp_us - chat_us:6.0f} us", flush=True)
    return results


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    outcome = asyncio.run(main(count))
    sys.path.insert(0, str(Path(__file__).parent))
    from harness import save

    save("responses_overhead", {"requests_per_run": count, "cpu_us_per_request": outcome})
