"""Which FastAPI routers serve which API, under which path prefixes.

This table is the one place the HTTP surface is assembled from: the server, the OpenAPI document,
`polystack list-apis`, /v1/inspect/routes and the library client all read the mounted routers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

from fastapi import APIRouter

from polystack.apis.datatypes import Api


@dataclass(frozen=True)
class ApiRoutes:
    """An API's router module and the prefixes it is mounted at (the first one is canonical)."""

    api: Api
    module: str
    prefixes: tuple[str, ...] = ("/v1",)
    deprecated_prefixes: tuple[str, ...] = field(default=())

    def router(self) -> APIRouter:
        return import_module(self.module).router  # type: ignore[no-any-return]


CATALOG: dict[Api, ApiRoutes] = {
    Api.inference: ApiRoutes(Api.inference, "polystack.apis.inference.routes",
                             deprecated_prefixes=("/v1/openai/v1",)),
    Api.vector_io: ApiRoutes(Api.vector_io, "polystack.apis.vector_io.routes",
                             deprecated_prefixes=("/v1/openai/v1",)),
    Api.models: ApiRoutes(Api.models, "polystack.apis.models.routes", deprecated_prefixes=("/v1/openai/v1",)),
    Api.files: ApiRoutes(Api.files, "polystack.apis.files.routes", deprecated_prefixes=("/v1/openai/v1",)),
    Api.providers: ApiRoutes(Api.providers, "polystack.apis.providers.routes"),
    Api.inspect: ApiRoutes(Api.inspect, "polystack.apis.inspect.routes"),
}
