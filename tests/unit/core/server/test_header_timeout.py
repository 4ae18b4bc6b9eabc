"""A real server closes connections whose headers or body trickle in too slowly (raw sockets, `polystack run`)."""

import signal
import socket
import sys
import time

import pytest
import yaml

from polystack.testing.child_process import ChildProcess
from polystack.testing.tcp_proxy import unused_port


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slow-clients")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({
        "distro_name": "slow-clients",
        "providers": {"inference": [{"provider_id": "scripted", "provider_type": "inline::scripted"}]},
        "server": {"limits": {"header_timeout_seconds": 1, "body_timeout_seconds": 1}},
    }))
    port = unused_port()
    command = [sys.executable, "-m", "polystack.cli.main", "run", str(config), "--port", str(port)]
    child = ChildProcess("server", command, ready_url=f"http://127.0.0.1:{port}/v1/health",
                         log_path=folder / "server.log", stop_signal=signal.SIGINT)
    try:
        yield child.wait_ready(60), port
    finally:
        child.stop()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


def test_headers_sent_slowly_are_cut_off_with_408(server):
    _, port = server
    with connect(port) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 4:
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            except ConnectionResetError:  # the server closed while our byte was in flight: a reset, still closed
                closed = True
                break
        assert closed and time.monotonic() - started < 3


def test_a_connection_that_sends_nothing_is_closed(server):
    _, port = server
    with connect(port) as sock:
        data, took = read_until_closed(sock)
    assert took < 3 and data.startswith(b"HTTP/1.1 408")


def test_a_body_sent_slowly_gets_408_and_the_connection_closes(server):
    _, port = server
    with connect(port) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"model\":")
        data, took = read_until_closed(sock)
    assert took < 3 and data.startswith(b"HTTP/1.1 408") and b"request_timeout" in data


def test_a_prompt_client_is_served_on_a_kept_alive_connection(server):
    _, port = server
    with connect(port) as sock:
        for _ in range(2):
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            response = b""
            while not response.endswith(b"}"):
                response += sock.recv(65536)
            assert response.startswith(b"HTTP/1.1 200")
