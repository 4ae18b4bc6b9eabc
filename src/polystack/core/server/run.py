"""Runs a Stack behind uvicorn: start the providers (with a progress indicator), then serve."""

from __future__ import annotations

import asyncio
import logging
import time

import uvicorn

from polystack.core.config import RunConfig
from polystack.core.server.app import create_app
from polystack.core.server.header_timeout import header_timeout_protocol
from polystack.core.stack import Stack

logger = logging.getLogger("polystack.server")


def _uvicorn_config(app: object, config: RunConfig) -> uvicorn.Config:
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
        timeout_graceful_shutdown=10,
        lifespan="on",
    )


async def serve(config: RunConfig, *, status: object | None = None) -> None:
    """Start the stack, then serve it until interrupted; providers stop in reverse order."""
    started = time.perf_counter()
    stack = Stack(config)
    await stack.start()
    if status is not None:
        status.stop()  # type: ignore[attr-defined]
    app = create_app(stack, manage_lifecycle=False)
    server = uvicorn.Server(_uvicorn_config(app, config))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            scheme = "https" if config.server.tls_certfile else "http"
            logger.info("Polystack %s ready on %s://%s:%d in %.2fs", config.distro_name, scheme,
                        config.server.host, config.server.port, time.perf_counter() - started)
        await serving
    finally:
        await stack.stop()


def run(config: RunConfig, *, status: object | None = None) -> None:
    try:
        import uvloop

        uvloop.run(serve(config, status=status))
    except ImportError:
        asyncio.run(serve(config, status=status))
