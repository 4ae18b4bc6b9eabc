"""Graceful shutdown: what is in flight when SIGINT/SIGTERM arrives ends with an answer, never a traceback.

Open SSE streams end at once with an error event (apis/http.py); other requests get GRACEFUL_SECONDS to
finish, after which uvicorn cancels them and ShutdownGuard answers 503 instead of uvicorn's traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.errors import ServiceUnavailableError
from polystack.apis.http import end_open_streams
from polystack.core.server.replies import WatchedSend, send_error

logger = logging.getLogger("polystack.server")

GRACEFUL_SECONDS = 5  # how long requests other than streams may take to finish once a shutdown starts
_SHUTTING_DOWN = ServiceUnavailableError("the server shut down before the request finished; retry it")


class ShutdownGuard:
    """Outermost ASGI wrapper: a request cancelled by the shutdown answers 503 (if it had not answered yet)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watched = WatchedSend(send)

        try:
            await self.app(scope, receive, watched)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self.draining or scope["type"] != "http" or task is None:
                raise
            task.uncancel()
            if not watched.started:
                await send_error(send, _SHUTTING_DOWN)


class DrainingServer(uvicorn.Server):
    """uvicorn's server that ends open streams when the shutdown begins, and does not re-raise the signal
    that asked for it (uvicorn does, which interrupts the stack's own stop with a KeyboardInterrupt).

    A worker of several (`worker=True`) takes its orders from its supervisor only: it ignores SIGINT (a
    terminal's Ctrl-C reaches the supervisor too, which passes it on), and a second SIGTERM stops it at
    once, as a second Ctrl-C stops a single server. Mixing the terminal's SIGINT with the supervisor's
    SIGTERM would make their arrival order decide between a graceful and an abrupt stop.
    """

    def __init__(self, config: uvicorn.Config, guard: ShutdownGuard, *, worker: bool = False) -> None:
        super().__init__(config)
        self.guard = guard
        self.worker = worker

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.worker and sig == signal.SIGTERM and self.should_exit:
            sig = signal.SIGINT  # the supervisor's second SIGTERM: uvicorn forces the exit on a repeated SIGINT
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        on_sigint = signal.SIG_IGN if self.worker else self.handle_exit
        handlers = {signal.SIGINT: on_sigint, signal.SIGTERM: self.handle_exit}
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.guard.draining = True
        ended = end_open_streams()
        if ended:
            logger.info("shutting down: ended %d open stream(s)", ended)
        await super().shutdown(sockets)
