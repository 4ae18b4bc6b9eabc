"""Runs a Stack behind uvicorn: claim the port, start the providers, serve, and shut down gracefully."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import uvicorn

from polystack.core.config import RunConfig
from polystack.core.errors import StackError
from polystack.core.server.app import close_app, create_app
from polystack.core.server.header_timeout import header_timeout_protocol
from polystack.core.server.shutdown import GRACEFUL_SECONDS, DrainingServer, ShutdownGuard
from polystack.core.stack import Stack

logger = logging.getLogger("polystack.server")

# A shutdown waits this long for the stores to flush and the providers to stop (after GRACEFUL_SECONDS).
STOP_SECONDS = 15


def claim_port(host: str, port: int) -> socket.socket:
    """Bind the listening socket first, so a port in use is reported before any model loads."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StackError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StackError(f"port {port} on {host} is already in use: stop what uses it, or pick another "
                             "with --port (or POLYSTACK_PORT)") from None
        raise StackError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


@dataclass
class WorkerRole:
    """How one worker of several serves (core/server/workers.py): on the parent's socket, saying when ready."""

    sock: socket.socket
    on_ready: Callable[[], None]
    parent_pid: int


WORKER_HEADER = "x-polystack-worker"  # with several workers: which process answered (its pid)


def _uvicorn_config(app: object, config: RunConfig, *, worker: bool = False) -> uvicorn.Config:
    server = config.server
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=server.host,
        port=server.port,
        loop="uvloop",
        http=header_timeout_protocol(server.limits.header_timeout_seconds),  # httptools, plus a header deadline
        log_level="warning",
        access_log=False,
        ssl_certfile=server.tls_certfile,
        ssl_keyfile=server.tls_keyfile,
        ssl_ca_certs=server.tls_cafile,
        ssl_cert_reqs=2 if server.tls_cafile else 0,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        # uvicorn arms a float timer with it; its annotation says int
        timeout_keep_alive=server.limits.keep_alive_timeout_seconds,  # type: ignore[arg-type]
        lifespan="on",
        headers=[(WORKER_HEADER, str(os.getpid()))] if worker else None,
    )


async def _stop(stack: Stack) -> None:
    """Flush the stores and stop the providers, within STOP_SECONDS."""
    try:
        await asyncio.wait_for(stack.stop(), STOP_SECONDS)
    except TimeoutError:
        logger.warning("the stack did not stop within %ds; exiting anyway", STOP_SECONDS)


async def serve(config: RunConfig, *, status: object | None = None, worker: WorkerRole | None = None) -> None:
    """Claim the port (a worker has it from its parent), start the stack, then serve it until SIGINT/SIGTERM;
    providers stop in reverse order."""
    started = time.perf_counter()
    sock = worker.sock if worker is not None else claim_port(config.server.host, config.server.port)
    config.server.port = int(sock.getsockname()[1])  # the port asked for, or the one picked for port 0
    try:
        stack = Stack(config)
        await stack.start()
    except BaseException:
        sock.close()
        raise
    if status is not None:
        status.stop()  # type: ignore[attr-defined]
    app = create_app(stack, manage_lifecycle=False)
    freeze_startup_objects()
    guard = ShutdownGuard(app)
    server = DrainingServer(_uvicorn_config(guard, config, worker=worker is not None), guard,
                            worker=worker is not None)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    watch: asyncio.Task[None] | None = None
    try:
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        if server.started and worker is not None:
            logger.info("worker ready in %.2fs", time.perf_counter() - started)  # its lines carry worker=<pid>
            worker.on_ready()
            watch = asyncio.create_task(_stop_when_orphaned(worker.parent_pid, server))
        elif server.started:
            scheme = "https" if config.server.tls_certfile else "http"
            logger.info("Polystack %s ready on %s://%s:%d in %.2fs", config.distro_name, scheme,
                        config.server.host, config.server.port, time.perf_counter() - started)
        if server.started:
            stack.after_ready()
        await serving
    finally:
        if watch is not None:
            watch.cancel()
        sock.close()
        await close_app(app)
        await _stop(stack)
        if worker is not None:
            logger.info("worker stopped")
        else:
            logger.info("Polystack %s stopped", config.distro_name)


# Young collections every YOUNG_GC_THRESHOLD allocations instead of Python's 700: a proxied request allocates
# hundreds of short-lived objects, most of them dead by the next collection (bench/: 10,000 was the best).
YOUNG_GC_THRESHOLD = 10_000
OLDER_GC_THRESHOLDS = (20, 20)


def freeze_startup_objects() -> None:
    """Tune the cyclic garbage collector for serving, once the stack has started.

    Everything alive then (modules, pydantic schemas, the stack: most of the heap) is moved out of the
    collector's generations (`gc.freeze`), so no collection while serving walks it again. Before this, the
    collector took about half a proxied request's CPU (bench/proxy_overhead.py: ~900 us of 1,800 measured
    under load, mostly full collections re-walking the startup heap); after it, ~45 us.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *OLDER_GC_THRESHOLDS)


async def _stop_when_orphaned(parent_pid: int, server: uvicorn.Server) -> None:
    """A worker whose supervisor died (SIGKILL) shuts down like on SIGTERM instead of serving on alone."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 - no event says a parent died; polling getppid is the way
        await asyncio.sleep(1)
    logger.warning("the supervising process is gone; this worker shuts down")
    server.should_exit = True


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop when installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def run(config: RunConfig, *, status: object | None = None) -> None:
    """Serve `config` in this process, or with `server.workers` > 1 in that many supervised worker processes."""
    if config.server.workers > 1:
        from polystack.core.server.workers import supervise

        supervise(config, status=status)
    else:
        run_loop(serve(config, status=status))
