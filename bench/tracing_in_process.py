"""CPU per chat completion that tracing adds, in-process: the app in library mode on `inline::scripted` with
a stored completion (server span, router span, store write span), spans exported by OTLP/HTTP to a local
receiver (the export thread's CPU counts: it is this process's). No network load generator, so on a busy
machine it is steadier than bench/telemetry_overhead.py; it reports the median and the minimum of
interleaved rounds (noise on a shared box only adds).

Modes: off (no tracing), all (every trace sampled), 10pct (parentbased_traceidratio 0.1).
Run: PYTHONPATH=<checkout>/src .venv/bin/python bench/tracing_in_process.py [requests per run] [rounds]
(once per checkout to compare two commits).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import save
from telemetry_overhead import Receiver

MODES = {"off": None, "all": "1", "10pct": "0.1"}
BODY = {"model": "scripted/scripted-model", "messages": [{"role": "user", "content": "a b c"}]}


async def measure(config: Any, ratio: str | None, requests: int) -> float:
    """Microseconds of this process's CPU per request, the export of the run's spans included."""
    import polystack
    from polystack.core.telemetry import tracing

    if ratio is not None:
        os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
        os.environ["OTEL_TRACES_SAMPLER_ARG"] = ratio
        tracing.install(tracing.make_provider("bench"))
    try:
        async with polystack.connect(config) as library:
            for _ in range(50):
                await library.http.post("/v1/chat/completions", json=BODY)
            started = time.process_time()
            for _ in range(requests):
                assert (await library.http.post("/v1/chat/completions", json=BODY)).status_code == 200
            made = tracing.provider()
            if made is not None:
                made.force_flush()
            return (time.process_time() - started) / requests * 1e6
    finally:
        tracing.shutdown()


async def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    receiver = Receiver()
    os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"{receiver.endpoint}/v1/traces"
    from polystack.core.config import parse_run_config

    with tempfile.TemporaryDirectory() as tmp:
        config = parse_run_config({
            "distro_name": "bench-tracing", "models": {"refresh_interval_seconds": 0},
            "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
            "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(Path(tmp) / "sql.db")},
                                     "kv": {"type": "kv_sqlite", "db_path": str(Path(tmp) / "kv.db")}},
                        "stores": {"metadata": {"backend": "kv"}, "inference": {"backend": "sql"}}}}, env={})
        runs: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(rounds):  # interleaved, so the machine's drift hits every mode alike
            for mode, ratio in MODES.items():
                runs[mode].append(await measure(config, ratio, requests))
    result: dict[str, Any] = {"us_cpu_per_request": {m: [round(v) for v in vs] for m, vs in runs.items()}}
    for label, pick in (("median", statistics.median), ("min", min)):
        value = {mode: pick(values) for mode, values in runs.items()}
        result[label] = {mode: round(v) for mode, v in value.items()}
        result[f"added_vs_off_{label}"] = {mode: f"{(v / value['off'] - 1) * 100:+.0f}%"
                                           for mode, v in value.items() if mode != "off"}
    print(json.dumps({k: v for k, v in result.items() if k != "us_cpu_per_request"}))
    save("tracing_in_process", result)


if __name__ == "__main__":
    asyncio.run(main())
