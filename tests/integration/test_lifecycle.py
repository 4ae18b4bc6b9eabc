"""A real `polystack run` process: an occupied port fails fast in one line; Ctrl-C mid-stream shuts down cleanly.

The scripted provider (streaming slowly here) keeps each start well under a second.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx
import yaml

from tests.integration.conftest import ROOT, RunningServer

POLYSTACK = [sys.executable, "-m", "polystack.cli.main"]


def scripted_config(tmp_path, *, stream_delay: float = 0, storage: dict | None = None) -> str:
    path = tmp_path / f"lifecycle-{uuid.uuid4().hex[:6]}.yaml"
    reply = " ".join(f"word{i}" for i in range(200))
    path.write_text(yaml.safe_dump({
        "version": 2, "distro_name": "lifecycle",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted",
                                     "config": {"replies": [{"content": reply}],
                                                "stream_delay_seconds": stream_delay}}]},
        "storage": storage or {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(tmp_path / "sql.db")}},
                               "stores": {"inference": {"backend": "sql"}}},
        "models": {"refresh_interval_seconds": 0},
    }))
    return str(path)


def test_an_occupied_port_fails_in_one_line_before_anything_starts(tmp_path):
    # An unreachable database would be reported if the stack started first: the port must be checked before.
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
    unreachable = {"backends": {"kv": {"type": "kv_postgres", "host": "127.0.0.1", "port": dead_port,
                                       "create_database_if_missing": False}},
                   "stores": {"metadata": {"backend": "kv"}}}
    config = scripted_config(tmp_path, storage=unreachable)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run([*POLYSTACK, "run", config, "--port", str(port)], capture_output=True, text=True,
                                timeout=60, cwd=ROOT)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, lines
    assert str(port) in lines[0] and "in use" in lines[0]
    assert time.monotonic() - started < 20


def _events(response: httpx.Response):
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield line[len("data: "):]


def test_ctrl_c_mid_stream_ends_the_stream_with_an_error_event_and_exits_cleanly(tmp_path):
    server = RunningServer(scripted_config(tmp_path, stream_delay=0.2), log_dir=tmp_path).wait_ready(60)
    try:
        body = {"model": "scripted/scripted-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        seen: list[str] = []
        with httpx.stream("POST", f"{server.base_url}/v1/chat/completions", json=body, timeout=30) as response:
            assert response.status_code == 200
            for event in _events(response):
                seen.append(event)
                if len(seen) == 3:
                    server.process.send_signal(signal.SIGINT)
                    interrupted = time.monotonic()
        exit_code = server.process.wait(15)
        took = time.monotonic() - interrupted
        log = server.log()
    finally:
        server.stop()
    assert seen[-1] != "[DONE]" and len(seen) < 50
    last = json.loads(seen[-1])
    assert last["error"]["code"] == "service_unavailable" and "shutting down" in last["error"]["message"]
    assert exit_code == 0
    assert took < 5
    assert "Traceback" not in log, log


def test_a_request_still_unanswered_when_the_grace_period_ends_gets_a_503_not_a_traceback(tmp_path):
    # The first chunk is pulled before answering, so a provider this slow keeps the request unanswered.
    server = RunningServer(scripted_config(tmp_path, stream_delay=60), log_dir=tmp_path).wait_ready(60)
    body = {"model": "scripted/scripted-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    try:
        with httpx.Client(timeout=30) as client:
            pending = client.build_request("POST", f"{server.base_url}/v1/chat/completions", json=body)
            timer = threading.Timer(1, server.process.send_signal, [signal.SIGINT])
            timer.start()
            response = client.send(pending)
        exit_code = server.process.wait(20)
        log = server.log()
    finally:
        server.stop()
    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"
    assert exit_code == 0
    assert "Traceback" not in log, log


def test_port_zero_serves_on_a_free_port_named_in_the_ready_line(tmp_path):
    process = subprocess.Popen([*POLYSTACK, "run", scripted_config(tmp_path), "--port", "0"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        ready = ""
        while time.monotonic() < deadline and "ready on" not in ready:
            ready = process.stdout.readline()
            assert ready or process.poll() is None, "the server exited before it was ready"
        port = int(ready.rsplit(":", 1)[1].split()[0])
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
