"""One worker against several (`--workers N`) in one run: requests/s and CPU per request, plain and streamed.

The same config (the instant upstream, the registry and stored completions on SQLite files, the journal on)
served by 1 and by N worker processes, c=16. CPU per request is summed over the supervisor and every worker,
so it shows what a second process costs per request; requests/s shows what it buys, which on a shared
2-core machine is bounded by what the other processes leave free (read it with the load average printed).
    .venv/bin/python bench/workers.py [N]      # default N=2
Needs `wrk` (Debian package).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from harness import cpu_seconds, remote_config, save, start_polystack, start_upstream, wrk

CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}


def storage(folder: Path, workers: int) -> str:
    return (f"storage:\n  store_dir: {folder}\n  backends:\n"
            f"    kv: {{type: kv_sqlite, db_path: {folder}/kv.db}}\n"
            f"    sql: {{type: sql_sqlite, db_path: {folder}/sql.db}}\n"
            "  stores:\n    metadata: {backend: kv}\n    inference: {backend: sql}\n"
            f"server:\n  workers: {workers}\n")


def tree(pid: int) -> list[int]:
    """The process and its descendants (the supervisor, its workers and multiprocessing's resource tracker)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += tree(int(child))
    return found


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in tree(pid))


def measure(upstream_port: int, workers: int, tmp: Path) -> dict[str, object]:
    folder = tmp / f"workers-{workers}"
    server, port, ready = start_polystack(remote_config(upstream_port, storage(folder, workers)), tmp)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    result: dict[str, object] = {"start_to_ready_s": round(ready, 2)}
    try:
        for name, body in (("plain", CHAT), ("stream", STREAM)):
            wrk(url, body, 16, 1)  # warm-up (and every worker up)
            runs = []
            for _ in range(3):
                before = tree_cpu(server.pid)
                load = wrk(url, body, 16, 3)
                cpu = tree_cpu(server.pid) - before
                runs.append({"rps": load["rps"], "cpu_us_per_request": round(cpu / load["requests"] * 1e6),
                             "errors": load["errors"]})
            result[name] = runs
    finally:
        server.terminate()
        server.wait(60)
    return result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    upstream, upstream_port = start_upstream()
    results: dict[str, object] = {"load_average_before": os.getloadavg()}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for workers in (1, n):
                results[f"workers_{workers}"] = measure(upstream_port, workers, Path(tmp))
    finally:
        upstream.terminate()
    results["load_average_after"] = os.getloadavg()
    for key, value in results.items():
        print(f"{key}: {value}")
    save("workers", results)


if __name__ == "__main__":
    main()
