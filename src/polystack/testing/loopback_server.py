"""A JSON-answering HTTP server on a loopback port, in a thread: the skeleton the hand-written fakes share.

A fake subclasses `LoopbackJsonServer` and implements `reply(method, target, headers, body)`, returning the
status, the JSON payload and extra headers; the base class owns the socket, the thread, optional TLS and
the context-manager protocol.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

Answer = tuple[int, Any, dict[str, str]]  # status, JSON payload, extra headers


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a server closing its pool, a TLS handshake refused) is no error here."""


class LoopbackJsonServer:
    """Serves `reply()` on 127.0.0.1 at a free port, over HTTP or, given a (certfile, keyfile), HTTPS."""

    path_prefix = ""  # what `base_url` ends with

    def __init__(self, *, tls: tuple[Path, Path] | None = None) -> None:
        self.tls = tls
        self._server: ThreadingHTTPServer | None = None

    def reply(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to one request; `target` is the path with its query string, `headers` lower-cased."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._server is not None, "start() it first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{self.path_prefix}"

    def start(self) -> Self:
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name=f"fake-{type(self).__name__}", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _handler_for(fake: LoopbackJsonServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, payload, extra = fake.reply(self.command, self.path, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler
