"""Added latency of safety per chat completion request, in-process (library client, no sockets for the API).

Measures, as the median over N requests of a short chat completion on the scripted model:
- the cost of serving the safety API at all (the guardrails hook in the inference chain, no shield applies);
- an input shield of each type: llama-guard (on a scripted guard model: the prompt and parsing, not a model),
  remote::openai-moderation, remote::bedrock-guardrails (SigV4) and remote::nvidia-nemo-guardrails (each on
  the loopback FAKE of its vendor API: our side's cost plus one local HTTP round trip);
- output checking of a streamed ~2,000-character answer (batches of 200 characters) against the same
  stream unguarded;
- with --embedded: llama-guard on starter's embedded SmolLM2-135M (run-shield; a real model's latency).

Run: .venv/bin/python bench/safety_overhead.py [--requests 200] [--embedded]
Writes bench/results/safety_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "core" / "routing"))

from safety_stack import CHAT, safety_config

import polystack
from polystack.core.config import parse_run_config
from polystack.testing.fake_safety_apis import FakeSafetyAPIs

LONG = "The river runs past the old mill and the children play by the water. " * 29  # ~2,000 characters


def ask(content: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": CHAT, "messages": [{"role": "user", "content": content}], "store": False, **extra}


async def median_ms(library: Any, body: dict[str, Any], requests: int) -> float:
    for _ in range(5):  # warm up
        answer = await library.http.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200, answer.text
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        answer = await library.http.post("/v1/chat/completions", json=body)
        await answer.aread()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def without_safety(tmp: Path) -> Any:
    return parse_run_config({
        "distro_name": "bench", "providers": {"inference": [
            {"provider_id": "scripted", "provider_type": "inline::scripted", "config": {"models": ["chat"]}}]},
        "storage": {"backends": {"kv": {"type": "kv_sqlite", "db_path": str(tmp / "plain-kv.db")}},
                    "stores": {"metadata": {"backend": "kv"}}},
        "models": {"refresh_interval_seconds": 0}}, env={})


async def main(requests: int, embedded: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"requests_per_case": requests}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        async with polystack.connect(without_safety(tmp)) as library:
            results["no_safety_api_ms"] = await median_ms(library, ask(), requests)
        async with FakeSafetyAPIs() as fake, polystack.connect(safety_config(tmp, fake)) as library:
            results["safety_served_no_shield_ms"] = await median_ms(library, ask(), requests)
            for shield in ("llama-guard", "moderation", "bedrock", "nemo"):
                results[f"input_shield_{shield}_ms"] = await median_ms(library, ask(guardrails=[shield]), requests)
        async with FakeSafetyAPIs() as fake:
            (tmp / "stream").mkdir()
            config = safety_config(tmp / "stream", fake, safety={"output_check_chars": 200})
            async with polystack.connect(config) as library:
                streams = requests // 4
                results["stream_2000_chars_unguarded_ms"] = await median_ms(library, ask(LONG, stream=True), streams)
                config.safety.guardrails.output_shields = ["moderation"]  # the hook reads the live settings
                results["stream_2000_chars_output_checked_ms"] = await median_ms(library, ask(LONG, stream=True),
                                                                                  streams)
                results["output_checks_per_stream"] = round(
                    len([p for p, _ in fake.requests if p == "/v1/moderations"]) / (streams + 5), 1)
    if embedded:
        async with polystack.connect("starter") as library:
            made = await library.http.post("/v1/shields", json={
                "shield_id": "bench-guard", "provider_id": "llama-guard",
                "provider_shield_id": "llama-cpp/SmolLM2-135M-Instruct"})
            assert made.status_code == 200, made.text
            times, statuses = [], []
            for _ in range(10):
                start = time.perf_counter()
                answer = await library.http.post("/v1/safety/run-shield", json={
                    "shield_id": "bench-guard", "messages": [{"role": "user", "content": "How do I bake bread?"}]})
                times.append(time.perf_counter() - start)
                statuses.append(answer.status_code)
            await library.http.delete("/v1/shields/bench-guard")
            results["llama_guard_embedded_smollm2_run_shield_ms"] = statistics.median(times) * 1000
            results["llama_guard_embedded_statuses"] = statuses  # 502: the 135M model is no guard, answers freely
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--embedded", action="store_true", help="also llama-guard on starter's embedded model")
    args = parser.parse_args()
    measured = asyncio.run(main(args.requests, args.embedded))
    for key, value in measured.items():
        print(f"{key:48} {value:.2f}" if isinstance(value, float) else f"{key:48} {value}")
    out = Path(__file__).with_name("results") / "safety_overhead.json"
    out.write_text(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in measured.items()},
                              indent=1) + "\n")
