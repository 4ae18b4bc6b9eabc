"""Shared pieces of the benchmarks: free ports, starting servers, wrk runs, RSS."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            httpx.get(url, timeout=0.5)
            return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} not ready")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used: per-request CPU cost is steadier than wall time on a busy box."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_upstream() -> tuple[subprocess.Popen[bytes], int]:
    """The instant OpenAI-compatible upstream (bench/instant_upstream.py) on a free port."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "instant_upstream.py"), "--port", str(port)])
    wait_ready(f"http://127.0.0.1:{port}/v1/models")
    return process, port


def start_bare_proxy(upstream_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """bench/bare_proxy.py (the cheapest possible Python proxy) in front of the upstream, on a free port."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "bare_proxy.py"), "--port", str(port),
                                "--upstream", f"http://127.0.0.1:{upstream_port}"])
    wait_ready(f"http://127.0.0.1:{port}/v1/models")
    return process, port


def start_polystack(config_yaml: str, workdir: Path,
                    src: str | None = None) -> tuple[subprocess.Popen[bytes], int, float]:
    """`polystack run` on a config text; returns the process, its port and its start-to-ready seconds.

    `src`: a source folder put first on the server's PYTHONPATH (another checkout's `src`, to compare two)."""
    port = free_port()
    config = workdir / f"bench-{port}.yaml"
    config.write_text(config_yaml)
    started = time.perf_counter()
    env = None if src is None else {**os.environ, "PYTHONPATH": src}
    process = subprocess.Popen([sys.executable, "-m", "polystack.cli.main", "run", str(config), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_ready(f"http://127.0.0.1:{port}/v1/health", timeout=180)  # a loaded shared box starts slowly
    return process, port, time.perf_counter() - started


def remote_config(upstream_port: int, storage: str = "") -> str:
    return ("version: 2\ndistro_name: bench\nproviders:\n  inference:\n  - provider_id: upstream\n"
            f"    provider_type: remote::vllm\n    config:\n      url: http://127.0.0.1:{upstream_port}/v1\n"
            "models:\n  refresh_interval_seconds: 0\n" + storage)


def wrk(url: str, body: dict[str, object], connections: int, duration: int) -> dict[str, float]:
    """requests/s and latency p50/p95 (ms) of POSTing `body` with `connections` keep-alive connections."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                 'wrk.headers["Content-Type"] = "application/json"\n'
                 'done = function(summary, latency, requests)\n'
                 '  io.write(string.format("P50 %d\\nP95 %d\\n", latency:percentile(50), latency:percentile(95)))\n'
                 'end\n')
    script.close()
    try:
        out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "-s", script.name, url],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": int(re.search(r"P50 (\d+)", out).group(1)) / 1000,  # type: ignore[union-attr]
        "p95_ms": int(re.search(r"P95 (\d+)", out).group(1)) / 1000,  # type: ignore[union-attr]
        "errors": int(errors.group(1)) if errors else 0,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
    }


def save(name: str, results: dict[str, object]) -> None:
    out = HERE / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
