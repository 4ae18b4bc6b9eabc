"""Server time a no-tool Responses call adds over the same chat completion, streamed and not (in-process).

Both go through the same ASGI app (`polystack.connect`, no socket) to the scripted model, so the difference
is the Responses layer: request model, engine, events, and (store=true) the stored response. CPU time per
request, median of 5 runs of N requests each; the client's own work is the same on both sides and cancels.

Also: the event throughput of one long streamed response (events per CPU second of the process).

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


LONG = " ".join(f"word{n}" for n in range(2000))


def config(folder: Path) -> Any:
    sql = {"type": "sql_sqlite", "db_path": str(folder / "sql.db")}
    return parse_run_config({
        "distro_name": "bench", "apis": ["inference", "responses"],
        "providers": {"inference": [
            {"provider_id": "scripted", "provider_type": "inline::scripted",
             "config": {"replies": [{"content": TEXT}]}},
            {"provider_id": "long", "provider_type": "inline::scripted",
             "config": {"models": ["long-model"], "replies": [{"content": LONG}]}}]},
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
            results["stream_events_per_cpu_second"] = round(await events_per_second(stack.http))
            print(f"one streamed response of 2000 deltas: {results['stream_events_per_cpu_second']} events/CPU s")
    return results


async def events_per_second(http: Any, runs: int = 5) -> float:
    body = {"model": "long/long-model", "input": "go", "stream": True, "store": False}
    rates = []
    for _ in range(runs):
        started = time.process_time()
        events = 0
        async with http.stream("POST", "/v1/responses", json=body) as reply:
            async for line in reply.aiter_lines():
                events += line.startswith("event: ")
        rates.append(events / (time.process_time() - started))
    return statistics.median(rates)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    outcome = asyncio.run(main(count))
    sys.path.insert(0, str(Path(__file__).parent))
    from harness import save

    save("responses_overhead", {"requests_per_run": count, "cpu_us_per_request": outcome})
