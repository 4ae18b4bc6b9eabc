"""Added latency of each offline shield per request: run-shield p50/p99 through the provider's own API.

Each provider judges the same mix of eight requests, cycled: short chat messages (safe and unsafe), a
long prose answer (~3 KB), an answer with a Python and a JavaScript code block (~1.5 KB), messages with
personal data and keys. One request at a time, in-process, so the numbers are what a guardrail adds to a
request on an idle server (the server's own HTTP overhead is not included); also each provider's load
time. Timings swing when other processes share the cores.
Run: .venv/bin/python bench/safety_offline.py [--requests 400]
Results are printed and written to bench/results/safety_offline.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from polystack.apis.safety.types import Shield
from polystack.providers.inline.safety import code_scanner, offline_classifier, pii
from polystack.providers.inline.safety.code_scanner.config import CodeScannerConfig
from polystack.providers.inline.safety.offline_classifier.config import OfflineClassifierConfig
from polystack.providers.inline.safety.pii.config import PiiConfig

HERE = Path(__file__).resolve().parent
PROSE = ("The committee reviewed the proposal in detail and asked for a revised budget before the next "
         "meeting, noting that the timeline depended on hiring two more engineers. ") * 18
CODE = """Here is a small client and the matching front end:

```python
import subprocess, requests

def fetch(url, name):
    subprocess.run(f"curl {url} -o {name}", shell=True)
    return requests.get(url, verify=False, timeout=10).json()

def load(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip()]
```

```javascript
const q = "SELECT * FROM users WHERE id = " + req.params.id;
db.query(q).then(rows => res.json(rows));
const apiKey = process.env.API_KEY;
```

Run it with Python 3.11 or later; the script expects a URL and an output file name.
"""
LABELLED_MIX: dict[str, str] = {
    "short safe": "What is the capital of France?",
    "short offensive": "you are a fucking idiot",
    "short self-harm": "I'm going to kill myself tonight",
    "prose 3 KB": PROSE,
    "code answer 1.5 KB": CODE,
    "pii": "Reach me at jane.doe@example.com or (650) 253-0000; card 4111 1111 1111 1111.",
    "iban and key": "Wire it to DE89 3704 0044 0532 0130 00, my key is AKIAIOSFODNN7EXAMPLE.",
    "short thanks": "Thanks, that was helpful!",
}
MIX: list[str] = list(LABELLED_MIX.values())
SHIELD = Shield(identifier="bench", provider_id="bench", provider_resource_id="bench")


async def latencies(impl: Any, requests: int) -> list[float]:
    """Per request in ms, in the order of MIX cycled (request i judged MIX[i % len(MIX)])."""
    for text in MIX:  # warm-up
        await impl.run_shield(SHIELD, [{"role": "assistant", "content": text}], {})
    timings = []
    for index in range(requests):
        messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": MIX[index % len(MIX)]}]
        started = time.perf_counter()
        await impl.run_shield(SHIELD, messages, {})
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main(requests: int) -> dict[str, dict[str, Any]]:
    providers = {
        "inline::offline-classifier": (offline_classifier.create, OfflineClassifierConfig()),
        "inline::pii": (pii.create, PiiConfig()),
        "inline::pii (redact)": (pii.create, PiiConfig(mode="redact")),
        "inline::code-scanner": (code_scanner.create, CodeScannerConfig()),
    }
    results: dict[str, dict[str, Any]] = {}
    for name, (create, config) in providers.items():
        started = time.perf_counter()
        impl = await create(config, None)  # type: ignore[operator]
        warm_up = getattr(impl, "warm_up_after_ready", None)  # the model loads after ready, not at create
        if warm_up is not None:
            await warm_up()
        load_s = time.perf_counter() - started
        timings = await latencies(impl, requests)
        results[name] = {"load_s": round(load_s, 3), "p50_ms": round(statistics.median(timings), 3),
                         "p99_ms": round(percentile(timings, 0.99), 3), "max_ms": round(max(timings), 3)}
        per_input = {label: round(statistics.median(timings[index::len(MIX)]), 3)
                     for index, label in enumerate(LABELLED_MIX)}
        print(f"{name:30s} load {load_s:6.3f} s  p50 {results[name]['p50_ms']:7.3f} ms  "
              f"p99 {results[name]['p99_ms']:7.3f} ms  max {results[name]['max_ms']:7.3f} ms")
        print("    p50 per input (ms): " + ", ".join(f"{label} {value}" for label, value in per_input.items()))
        results[name]["p50_ms_per_input"] = per_input
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    measured = asyncio.run(main(args.requests))
    out = {"requests_per_provider": args.requests, "cpu_count": os.cpu_count(), "results": measured}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "safety_offline.json").write_text(json.dumps(out, indent=2) + "\n")
