"""Start-to-ready of `polystack run starter` with an empty store, and what the first moderation then costs.

Each round starts the server with a fresh POLYSTACK_STORE_DIR, polls /v1/health until it answers (wall
seconds and the process's CPU seconds at that moment: the CPU figure is the steadier one on a busy machine),
then times one `POST /v1/moderations` (the offline classifier loads lazily) and stops the server with SIGINT.
The main thread's CPU at ready is the critical path alone: llama.cpp's worker threads spin while they wait
for work, so the whole process's CPU grows with the machine's load, not with Polystack's start-up.
`--compare DIR` runs the same rounds, interleaved, on another checkout's src/ (e.g. the main branch), so
both are measured under the same load.
Run: .venv/bin/python bench/startup.py [--rounds 5] [--compare /path/to/other/src]
Results are printed and written to bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from harness import HERE, cpu_seconds, free_port, rss_mb, save

SRC = HERE.parent / "src"


def one_round(src: Path, distribution: str) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, "PYTHONPATH": str(src), "POLYSTACK_STORE_DIR": store, "POLYSTACK_ACCESS_LOG": "false"}
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "polystack.cli.main", "run", distribution,
                                    "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = started + 300
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"polystack exited with {process.returncode} before it was ready")
                try:
                    if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.perf_counter() > deadline:
                    raise RuntimeError("not ready within 300 s")
                time.sleep(0.01)
            ready = time.perf_counter() - started
            cpu, main_cpu, rss = cpu_seconds(process.pid), main_thread_cpu(process.pid), rss_mb(process.pid)
            asked = time.perf_counter()
            answer = httpx.post(f"{url}/v1/moderations", json={"input": "you are a wonderful person"}, timeout=120)
            answer.raise_for_status()
            moderation = time.perf_counter() - asked
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    return {"ready_s": ready, "cpu_at_ready_s": cpu, "main_thread_cpu_at_ready_s": main_cpu, "rss_at_ready_mb": rss,
            "first_moderation_s": moderation}


def main_thread_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in rounds), 3) for key in rounds[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--distribution", default="starter")
    parser.add_argument("--compare", type=Path, help="another src/ to measure in the same run")
    args = parser.parse_args()
    sources = {"this": SRC} | ({"compare": args.compare} if args.compare else {})
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
    for index in range(args.rounds):
        for name, src in sources.items():
            result = one_round(src, args.distribution)
            rounds[name].append(result)
            print(f"round {index + 1} {name}: " + ", ".join(f"{k}={v:.2f}" for k, v in result.items()), flush=True)
    results: dict[str, object] = {"distribution": args.distribution, "rounds": args.rounds,
                                  "load_average": os.getloadavg()[0]}
    for name, src in sources.items():
        results[name] = {"src": str(src), **summary(rounds[name])}
        print(f"{name} ({src}): median " + ", ".join(f"{k}={v}" for k, v in summary(rounds[name]).items()))
    save("startup", results)


if __name__ == "__main__":
    main()
