"""CPU the per-family body limits (server.limits.body_limits) add to BodyLimitMiddleware, in-process, in one run.

Rows: the bare app (yardstick), the middleware with no rules (max_body_bytes only), and with six prefix rules,
on a path a rule matches and on one none does; median of 9 interleaved rounds, each in a rotated order.
A path's limit is resolved once and cached, so the rules should cost one dict lookup per request; the
second table times `rules_for` alone (what the rules change), which whole requests on a busy machine blur.

Run: PYTHONPATH=src .venv/bin/python bench/body_limit_rules.py
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import timeit
from typing import Any

from middleware_overhead import app, cpu_per_request, scope_for

from polystack.core.config import LimitsConfig
from polystack.core.server.body_limits import BodyLimitMiddleware

RULES = {"/v1/chat/completions": "4MiB", "/v1/embeddings": "1MiB", "/v1/files": "1GiB", "/v1/responses": "8MiB",
         "/v1/conversations": "2MiB", "/v1/vector_stores": "64MiB"}
REQUESTS = 20000
ROUNDS = 9


async def main() -> None:
    rows: dict[str, tuple[Any, str]] = {
        "bare app": (app, "/v1/chat/completions"),
        "no rules": (BodyLimitMiddleware(app, limits=LimitsConfig()), "/v1/chat/completions"),
        "6 rules, matched": (BodyLimitMiddleware(app, limits=LimitsConfig(body_limits=RULES)), "/v1/chat/completions"),
        "6 rules, unmatched": (BodyLimitMiddleware(app, limits=LimitsConfig(body_limits=RULES)), "/v1/models/x"),
    }
    samples: dict[str, list[float]] = {name: [] for name in rows}
    names = list(rows)
    for round_ in range(ROUNDS):  # each round in another order, so no row always runs last on a busy machine
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            stack, path = rows[name]
            samples[name].append(await cpu_per_request(stack, REQUESTS, scope_for(path)))
    median = {name: statistics.median(values) for name, values in samples.items()}
    base = median["bare app"]
    no_rules = median["no rules"] - base
    print(f"{'bare app':20s} {base:6.2f} us CPU/request")
    for name in list(rows)[1:]:
        added = median[name] - base
        print(f"{name:20s} +{added:5.2f} us (rules add {added - no_rules:+.2f} us over no rules)")
    print()
    for name in list(rows)[1:]:
        stack, path = rows[name]
        call = functools.partial(stack.rules_for, scope_for(path))
        best = min(timeit.repeat(call, number=100_000, repeat=5)) / 100_000 * 1e9
        print(f"{name:20s} rules_for {best:6.0f} ns")


if __name__ == "__main__":
    asyncio.run(main())
