"""Polystack's CPU per proxied request (plain and streamed, c=16), for comparing two versions of the code.

Steadier than requests/s on a shared machine: it reads the server process's own CPU time around each wrk
run. To compare a commit with this tree, check it out in a worktree and name its source with --baseline:
both servers run side by side against one upstream and their wrk runs alternate, so a load change on the
machine hits both alike:
    .venv/bin/python bench/cpu_per_request.py --baseline /path/to/worktree/src
Without --baseline it measures this tree alone (PYTHONPATH decides which source runs).
Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from harness import cpu_seconds, remote_config, start_polystack, start_upstream, wrk

CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}


def cpu_per_request(pid: int, url: str, body: dict[str, object], seconds: int) -> int:
    before = cpu_seconds(pid)
    load = wrk(url, body, 16, seconds)
    return round((cpu_seconds(pid) - before) / max(load["requests"], 1) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="the src folder of the version to compare against")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run")
    args = parser.parse_args()
    upstream, upstream_port = start_upstream()
    servers = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for label, src in (("baseline", args.baseline), ("this tree", None)):
                if label == "baseline" and src is None:
                    continue
                server, port, ready = start_polystack(remote_config(upstream_port), Path(tmp), src)
                servers.append((label, server, f"http://127.0.0.1:{port}/v1/chat/completions", ready))
            result: dict[str, dict[str, list[int]]] = {label: {} for label, *_ in servers}
            for name, body in (("plain", CHAT), ("stream", STREAM)):
                for _, _, url, _ in servers:
                    wrk(url, body, 16, 1)  # warm-up
                for _ in range(args.runs):
                    for label, server, url, _ in servers:
                        result[label].setdefault(name, []).append(cpu_per_request(server.pid, url, body, args.seconds))
        finally:
            for _, server, _, _ in servers:
                server.terminate()
            upstream.terminate()
    for label, _, _, ready in servers:
        figures = ", ".join(f"{name} {runs} (median {statistics.median(runs)})" for name, runs in result[label].items())
        print(f"{label:10}: us CPU/request at c=16: {figures}; start-to-ready {ready:.2f} s")


if __name__ == "__main__":
    main()
