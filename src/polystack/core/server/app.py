"""Builds the ASGI app of a Stack from the API catalog: the one route table of Polystack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware

from polystack import __version__
from polystack.apis.catalog import CATALOG
from polystack.apis.datatypes import Api
from polystack.core.access.authn import build_authenticator
from polystack.core.audit.content import AuditContentMiddleware
from polystack.core.config import RunConfig
from polystack.core.keys.serving import quota_enforcer, virtual_key_lookup
from polystack.core.quotas.middleware import QuotaMiddleware
from polystack.core.server.access_log import AccessLogMiddleware, route_template
from polystack.core.server.body_limits import BodyLimitMiddleware
from polystack.core.server.direct_routes import DirectRoute, DirectRoutesMiddleware, direct_routes
from polystack.core.server.disconnect import DisconnectMiddleware
from polystack.core.server.errors import UnhandledErrorMiddleware, install_error_handlers, route_patterns
from polystack.core.server.json_guard import JSONGuardMiddleware
from polystack.core.server.middleware import OPEN_PATHS, RequestContextMiddleware
from polystack.core.server.openapi import install_openapi
from polystack.core.stack import Stack
from polystack.core.telemetry import tracing
from polystack.core.telemetry.server_span import ServerSpanMiddleware
from polystack.core.telemetry.setup import METRICS_PATH, fastapi_telemetry, install_metrics_route


def served_apis(stack: Stack) -> list[str]:
    """The APIs of the config, those their specs serve too (routing tables), and the `always` ones."""
    apis = list(stack.config.served_apis())
    apis += [also for api in apis if api in CATALOG for also in CATALOG[api].serves_also]
    apis += [spec.api for spec in CATALOG.values() if spec.always]
    return [api for api in dict.fromkeys(apis) if api in CATALOG and CATALOG[api].routes is not None]


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
            made = tracing.provider()
            if made is not None:
                made.force_flush()  # the last spans are exported before the process exits

    tracing.configure(stack.config.telemetry)  # before the middleware: the server span's is added only if on
    app = FastAPI(title="Polystack", version=__version__, lifespan=lifespan, telemetry=fastapi_telemetry(),
                  description="OpenAI-compatible AI application server with pluggable providers.")
    app.state.impls = stack.impls
    app.state.stack = stack
    routes: list[tuple[str, str, str]] = []
    served: list[tuple[str, str]] = []
    direct: dict[str, DirectRoute] = {}
    for api in served_apis(stack):
        entry = CATALOG[api]
        router = entry.router()
        direct.update(direct_routes(router.routes, (*entry.prefixes, *entry.deprecated_prefixes)))
        pairs = [(r.path, m) for r in router.routes if isinstance(r, APIRoute) for m in r.methods or ()]
        for prefix in entry.prefixes:
            app.include_router(router, prefix=prefix)
            routes += [(prefix + path, method, api) for path, method in pairs]
        for prefix in entry.deprecated_prefixes:
            app.include_router(router, prefix=prefix, include_in_schema=False, deprecated=True)
            served += [(prefix + path, method) for path, method in pairs]
    stack.route_table = routes
    app.state.route_patterns = route_patterns(served + [(path, method) for path, method, _ in routes])
    if stack.metrics is not None:
        install_metrics_route(app, stack.metrics)
    install_error_handlers(app)
    install_openapi(app)
    limits = stack.config.server.limits
    open_paths = OPEN_PATHS | ({METRICS_PATH} if stack.config.telemetry.metrics.auth == "open" else set())
    # innermost: the hot inference POSTs, called without FastAPI's routing and dependency solving
    app.add_middleware(DirectRoutesMiddleware, routes=direct, impls=stack.impls, fastapi=app)
    app.add_middleware(JSONGuardMiddleware, max_depth=limits.max_json_depth)
    auth = stack.config.server.auth
    if stack.config.server.quota is not None or auth is not None:  # else no enforcer ever exists: no layer
        app.add_middleware(QuotaMiddleware, enforcer=lambda: quota_enforcer(stack))  # request quota, x-ratelimit-*
    # one authenticator per app, so its key and answer caches (and its HTTP client) live as long as the app
    app.state.authenticator = build_authenticator(auth.provider_config) if auth is not None else None
    audit = stack.config.server.audit
    if auth is not None and audit.enabled and audit.include_content:  # else nothing reads what it would keep
        app.add_middleware(AuditContentMiddleware)
    app.add_middleware(RequestContextMiddleware, auth=auth,  # principal, provider data, ids
                       authenticator=app.state.authenticator,
                       virtual_keys=virtual_key_lookup(stack) if auth is not None else None,
                       open_paths=open_paths)
    app.add_middleware(DisconnectMiddleware)  # cancels the handler when the client leaves before the response
    app.add_middleware(BodyLimitMiddleware, limits=limits, upload_bytes=files_upload_limit(stack.config))
    app.add_middleware(UnhandledErrorMiddleware)
    cors = stack.config.server.cors_config()
    if cors is not None:  # outside authentication: preflights carry no credential, and a 401 needs CORS headers
        app.add_middleware(CORSMiddleware, allow_origins=cors.allow_origins,
                           allow_origin_regex=cors.allow_origin_regex, allow_methods=cors.allow_methods,
                           allow_headers=cors.allow_headers, allow_credentials=cors.allow_credentials,
                           expose_headers=cors.expose_headers, max_age=cors.max_age)
    entries = [CATALOG[api] for api in served_apis(stack)]
    prefixes = tuple(p for entry in entries for p in (*entry.prefixes, *entry.deprecated_prefixes))
    app.add_middleware(AccessLogMiddleware, metrics=stack.metrics, prefixes=prefixes)  # sees every status
    if tracing.tracer() is not None:  # outermost, so the access log line carries the trace id
        longest_first = tuple(sorted(set(prefixes), key=len, reverse=True))
        app.add_middleware(ServerSpanMiddleware, route_of=lambda scope: route_template(scope, longest_first))

    return app


async def close_app(app: FastAPI) -> None:
    """Release what the app holds besides the stack: the authenticator's connections to its identity provider."""
    authenticator = getattr(app.state, "authenticator", None)
    if authenticator is not None:
        await authenticator.aclose()


def files_upload_limit(config: RunConfig) -> int | None:
    """The largest upload a files provider of the config accepts (its `max_upload_bytes`), if files are served."""
    from polystack.providers.utils.files.config import FilesProviderConfig

    default = FilesProviderConfig.model_fields["max_upload_bytes"].default
    entries = config.providers.get(Api.files, [])
    return max((int(entry.config.get("max_upload_bytes", default)) for entry in entries), default=None)
