"""What the gateway path costs and how fast it fails over.

1. CPU per request of the server process (its own /proc CPU time, so the load generator's does not count),
   plain `up1/instant-model` against a routed model with two deployments, retries, fallbacks and timeouts
   configured, no fault injected; plain and streamed, c=16, alternating runs.
2. Failover time: requests flow at c=4 to a routed model whose only deployment is a faulty upstream
   (polystack/testing/faulty_upstream.py, a real HTTP server in this process) with a fallback on the instant
   upstream; then the primary goes down (a) by stopping (connections refused) and (b) by hanging (caught by
   first_byte_seconds). Reported: time from the fault to the first answer from the fallback, the slowest
   answer after the fault, and errors seen by callers.
Run: .venv/bin/python bench/gateway_overhead.py   (results: bench/results/gateway_overhead.json)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from harness import cpu_seconds, free_port, save, start_polystack, start_upstream

from polystack.testing.faulty_upstream import FaultyUpstream

ROUNDS = 5
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
ROUTING = """    metadata:
      routing:
        strategy: round_robin
        deployments: [{model: up1/instant-model}, {model: up2/instant-model}]
        fallbacks: [up2/instant-model]
        first_byte_seconds: 30
        timeout_seconds: 60
        retry: {retries: 2, backoff_seconds: 0.1}
        cooldown: {failures: 3, window_seconds: 30, cooldown_seconds: 10}
"""


def config(upstream_port: int, primary_url: str) -> str:
    providers = "".join(
        f"  - provider_id: {pid}\n    provider_type: remote::vllm\n    config:\n      url: {url}\n"
        "      refresh_models: false\n"
        for pid, url in (("up1", f"http://127.0.0.1:{upstream_port}/v1"),
                         ("up2", f"http://127.0.0.1:{upstream_port}/v1"), ("primary", primary_url)))
    return ("version: 2\ndistro_name: bench-gateway\nmodels:\n  refresh_interval_seconds: 0\n"
            f"providers:\n  inference:\n{providers}"
            "registered_resources:\n  models:\n  - model_id: routed\n" + ROUTING +
            "  - model_id: routed-one\n" + ROUTING.replace(", {model: up2/instant-model}]", "]") +
            "  - model_id: failover\n    metadata:\n      routing:\n"
            "        deployments: [{model: primary/instant-model, first_byte_seconds: 0.5}]\n"
            "        fallbacks: [up1/instant-model]\n        retry: {retries: 0}\n"
            "        cooldown: {failures: 3, window_seconds: 30, cooldown_seconds: 60}\n")


async def load(url: str, body: dict[str, Any], concurrency: int, seconds: float) -> int:
    """Requests answered in `seconds` by `concurrency` keep-alive workers; every answer read to its end."""
    done = 0
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                async with session.post(url, json=body) as reply:
                    await reply.read()
                    assert reply.status == 200, reply.status
                done += 1
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def cpu_per_request(pid: int, url: str, model: str, stream: bool) -> float:
    before = cpu_seconds(pid)
    count = await load(url, {"model": model, **CHAT, "stream": stream}, 16, 3)
    return (cpu_seconds(pid) - before) / count * 1e6


async def overhead(pid: int, url: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kind in ("plain", "stream"):
        stream = kind == "stream"
        models = {"plain_path": "up1/instant-model", "gateway_one_deployment": "routed-one",
                  "gateway_two_deployments": "routed"}
        for model in models.values():
            await load(url, {"model": model, **CHAT, "stream": stream}, 16, 1)  # warm-up
        runs: dict[str, list[float]] = {name: [] for name in models}
        for _ in range(ROUNDS):
            for name, model in models.items():
                runs[name].append(await cpu_per_request(pid, url, model, stream))
        medians = {name: statistics.median(values) for name, values in runs.items()}
        plain = medians["plain_path"]
        result[kind] = {
            **{f"us_cpu_per_request_{name}": round(value) for name, value in medians.items()},
            **{f"added_percent_{name}": round((value - plain) / plain * 100, 1)
               for name, value in medians.items() if name != "plain_path"},
            "runs": {k: [round(v) for v in vs] for k, vs in runs.items()}}
    return result


IN_PROCESS_ROUTING = {
    "deployments": [{"model": "s1/scripted-model"}, {"model": "s2/scripted-model"}], "fallbacks": ["s2/scripted-model"],
    "first_byte_seconds": 30, "timeout_seconds": 60, "retry": {"retries": 2},
    "cooldown": {"failures": 3, "window_seconds": 30, "cooldown_seconds": 10}}


async def router_in_process(tmp: Path) -> dict[str, Any]:
    """The router's own CPU per call, in-process on inline::scripted (no network: far steadier than the
    server-level figures on a shared machine): plain model against the routed one, interleaved rounds."""
    import polystack
    from polystack.apis.inference.types import ChatCompletionRequest
    from polystack.core.config import parse_run_config

    config = parse_run_config({
        "version": 2, "distro_name": "bench-gateway-router", "models": {"refresh_interval_seconds": 0},
        "providers": {"inference": [{"provider_id": p, "provider_type": "inline::scripted", "config": {}}
                                    for p in ("s1", "s2")]},
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(tmp / "router-kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}}},
        "registered_resources": {"models": [{"model_id": "routed", "metadata": {"routing": IN_PROCESS_ROUTING}}]},
    }, env={})

    async def calls(router: Any, model: str, count: int, stream: bool) -> float:
        started = time.process_time()
        for _ in range(count):
            reply = await router.chat_completion(ChatCompletionRequest(model=model, stream=stream, **CHAT))
            if stream:
                async for _chunk in reply:
                    pass
        return (time.process_time() - started) / count * 1e6

    result: dict[str, Any] = {}
    async with polystack.connect(config) as stack:
        router = stack.stack.impls["inference"]
        for kind in ("plain", "stream"):
            stream = kind == "stream"
            runs: dict[str, list[float]] = {"s1/scripted-model": [], "routed": []}
            for model in runs:
                await calls(router, model, 500, stream)
            for _ in range(7):
                for model, values in runs.items():
                    values.append(await calls(router, model, 2000, stream))
            plain, routed = (statistics.median(v) for v in runs.values())
            result[kind] = {"us_cpu_per_call_plain": round(plain, 1), "us_cpu_per_call_gateway": round(routed, 1),
                            "added_us": round(routed - plain, 1)}
    return result


async def failover(url: str, primary: FaultyUpstream, fault: str) -> dict[str, Any]:
    """Requests at c=4 before and after `fault` hits the primary; when the fallback starts answering."""
    events: list[tuple[float, float, bool, int]] = []  # (started, ended, by fallback, status)
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        async def worker() -> None:
            while not stop.is_set():
                started = time.monotonic()
                async with session.post(url, json={"model": "failover", **CHAT}) as reply:
                    await reply.read()
                    events.append((started, time.monotonic(), "x-polystack-fallback" in reply.headers,
                                   reply.status))
        workers = [asyncio.create_task(worker()) for _ in range(4)]
        await asyncio.sleep(1.0)
        down = time.monotonic()
        if fault == "stop":
            await primary.stop()
        else:
            primary.mode = "hang"
        await asyncio.sleep(3.0)
        stop.set()
        await asyncio.gather(*workers)
    after = [e for e in events if e[1] >= down]
    first_fallback = min((e[1] for e in after if e[2]), default=float("nan"))
    steady = [e for e in after if e[0] >= first_fallback]
    return {
        "fault": fault,
        "requests_before": len(events) - len(after), "requests_after": len(after),
        "errors_seen_by_callers": sum(1 for e in events if e[3] != 200),
        "first_fallback_answer_after_ms": round((first_fallback - down) * 1000, 1),
        "slowest_answer_after_fault_ms": round(max(e[1] - e[0] for e in after) * 1000, 1),
        "median_answer_once_failed_over_ms": round(statistics.median(e[1] - e[0] for e in steady) * 1000, 2),
    }


async def main() -> None:
    upstream, upstream_port = start_upstream()
    primary = FaultyUpstream("primary")
    await primary.start(free_port())
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results["router_in_process"] = await router_in_process(Path(tmp))
            text = config(upstream_port, f"http://127.0.0.1:{primary.port}/v1")
            server, port, _ = await asyncio.to_thread(start_polystack, text, Path(tmp))
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            try:
                results["cpu_overhead_c16"] = await overhead(server.pid, url)
                results["failover_connection_refused"] = await failover(url, primary, "stop")
            finally:
                server.terminate()
            await primary.start()  # a fresh server, so the circuit is fresh too
            primary.mode = "ok"
            server, port, _ = await asyncio.to_thread(start_polystack, text, Path(tmp))
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            try:
                results["failover_hang_first_byte_0.5s"] = await failover(url, primary, "hang")
            finally:
                server.terminate()
    finally:
        await primary.stop()
        upstream.terminate()
    save("gateway_overhead", results)
    import json

    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    asyncio.run(main())
