"""Builds the ASGI app of a Stack from the API catalog: the one route table of Polystack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from polystack import __version__
from polystack.apis.catalog import CATALOG
from polystack.apis.datatypes import ROUTED_APIS, Api
from polystack.core.server.disconnect import DisconnectMiddleware
from polystack.core.server.errors import install_error_handlers
from polystack.core.server.middleware import ProviderDataMiddleware
from polystack.core.stack import Stack


def served_apis(stack: Stack) -> list[Api]:
    """The APIs of the config, their routing tables, and the built-in APIs."""
    apis = list(stack.config.served_apis())
    apis += [ROUTED_APIS[api] for api in apis if api in ROUTED_APIS]
    apis += [Api.providers, Api.inspect]
    return [api for api in dict.fromkeys(apis) if api in CATALOG]


def create_app(stack: Stack, *, manage_lifecycle: bool = True) -> FastAPI:
    """The FastAPI app serving `stack`; with `manage_lifecycle` its lifespan starts and stops the stack."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await stack.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await stack.stop()

    app = FastAPI(title="Polystack", version=__version__, lifespan=lifespan,
                  description="OpenAI-compatible AI application server with pluggable providers.")
    app.state.impls = stack.impls
    app.state.stack = stack
    routes: list[tuple[str, str, Api]] = []
    for api in served_apis(stack):
        entry = CATALOG[api]
        router = entry.router()
        for prefix in entry.prefixes:
            app.include_router(router, prefix=prefix)
            routes += [(prefix + r.path, m, api) for r in router.routes if isinstance(r, APIRoute) for m in r.methods]
        for prefix in entry.deprecated_prefixes:
            app.include_router(router, prefix=prefix, include_in_schema=False, deprecated=True)
    stack.route_table = routes
    install_error_handlers(app)
    app.add_middleware(ProviderDataMiddleware)
    app.add_middleware(DisconnectMiddleware)

    return app
