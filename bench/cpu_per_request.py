"""Polystack's CPU per proxied request (plain and streamed, c=16), for comparing two versions of the code.

Steadier than requests/s on a shared machine: it reads the server process's own CPU time around each wrk
run. To compare commits, check one out in a worktree and put its source first:
    PYTHONPATH=/path/to/worktree/src .venv/bin/python bench/cpu_per_request.py "that commit"
    .venv/bin/python bench/cpu_per_request.py "this tree"
Needs `wrk` (Debian package).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from harness import cpu_seconds, remote_config, start_polystack, start_upstream, wrk

CHAT = {"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "polystack"
    upstream, upstream_port = start_upstream()
    with tempfile.TemporaryDirectory() as tmp:
        server, port, ready = start_polystack(remote_config(upstream_port), Path(tmp))
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        try:
            result = {}
            for name, body in (("plain", CHAT), ("stream", STREAM)):
                wrk(url, body, 16, 1)  # warm-up
                runs = []
                for _ in range(3):
                    before = cpu_seconds(server.pid)
                    load = wrk(url, body, 16, 3)
                    runs.append(round((cpu_seconds(server.pid) - before) / load["requests"] * 1e6))
                result[name] = runs
        finally:
            server.terminate()
            upstream.terminate()
    print(f"{label}: us CPU/request at c=16 {result}, start-to-ready {ready:.2f} s")


if __name__ == "__main__":
    main()
