"""The API catalog: one declarative `ApiSpec` per API, the only place an API is wired into Polystack.

An API is a contract (`apis/<api>/`: Protocol, types, routes) plus one `ApiSpec` here. Everything that
needs to know about APIs reads the spec, never a hand-kept list or an `if api == ...` branch:

- the server mounts `routes` under `prefixes` (the first one canonical) and `deprecated_prefixes`;
  the library client drives that same app, and /v1/inspect/routes and `polystack list-apis` list it;
- the provider registry imports `providers` (a module with `available_providers()`) to know the
  provider types of the API; an API without one is served by the stack itself and takes no providers;
- the resolver checks each provider instance against `protocol`, the dotted Protocol its providers
  implement (core/provider_protocols.py), so a provider missing a method stops the server at startup;
- the stack calls `serve`, a dotted `async def serve(context, providers) -> {api: impl}`, to build the
  API's router (or routing table) from its providers: without one, the API's single provider serves it;
- the resolver starts the APIs in `needs` (those the router calls, when configured) before this one;
- `serves_also` names the APIs the factory serves too (inference serves its routing table, models),
  `resource_type` the kind of resource its routing table registers (see core/routing/resource_table.py),
  and `registered_resources` the list of the run config's `registered_resources` its factory reads
  (a list no served API reads stops the server: core/registered_resources.py);
- `always` APIs (inspect, providers) are served by every stack, after the configured ones.

Specs name runtime code with dotted strings (as provider specs do), so `apis/` imports nothing from
`core/` or `providers/` and listing the catalog imports no router. Adding an API = adding its package and
its spec: the built-in ones are registered below; a package of its own declares its ApiSpec under the
`polystack.apis` entry-point group (`echo = "my_package.api:SPEC"`), or calls `register_api` in-process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points

from fastapi import APIRouter

from polystack.apis.datatypes import Api

logger = logging.getLogger("polystack.apis")


@dataclass(frozen=True)
class ApiSpec:
    """Everything the runtime needs to know about one API (see the module docstring)."""

    api: str
    routes: str | None = None
    prefixes: tuple[str, ...] = ("/v1",)
    deprecated_prefixes: tuple[str, ...] = ()
    providers: str | None = None
    protocol: str | None = None
    serve: str | None = None
    needs: tuple[str, ...] = ()
    serves_also: tuple[str, ...] = ()
    resource_type: str | None = None
    registered_resources: str | None = None
    always: bool = False

    def router(self) -> APIRouter:
        if self.routes is None:
            raise LookupError(f"API '{self.api}' has no routes")
        return import_module(self.routes).router  # type: ignore[no-any-return]

    @property
    def takes_providers(self) -> bool:
        return self.providers is not None


CATALOG: dict[str, ApiSpec] = {}


def register_api(spec: ApiSpec) -> ApiSpec:
    """Add an API to the catalog; registering a name twice with a different spec is a programming error."""
    existing = CATALOG.get(spec.api)
    if existing is not None and existing != spec:
        raise ValueError(f"API '{spec.api}' is already registered with another spec")
    CATALOG[spec.api] = spec
    return spec


def unregister_api(api: str) -> None:
    """Remove an API (tests that register a throwaway API clean up with this)."""
    CATALOG.pop(api, None)


def api_spec(api: str) -> ApiSpec | None:
    return CATALOG.get(api)


def serving_api(api: str) -> str:
    """The API whose providers back `api`: itself, or the API that serves it too (models -> inference)."""
    for spec in CATALOG.values():
        if api in spec.serves_also:
            return spec.api
    return api


OPENAI_V1 = ("/v1/openai/v1",)

register_api(ApiSpec(
    Api.inference, routes="polystack.apis.inference.routes", deprecated_prefixes=OPENAI_V1,
    providers="polystack.providers.registry.inference", protocol="polystack.apis.inference.protocol.InferenceProvider",
    serve="polystack.core.serving.inference.serve",
    serves_also=(Api.models,), resource_type="model", registered_resources="models"))
register_api(ApiSpec(
    Api.vector_io, routes="polystack.apis.vector_io.routes", deprecated_prefixes=OPENAI_V1,
    providers="polystack.providers.registry.vector_io", protocol="polystack.apis.vector_io.index.VectorIndex",
    serve="polystack.core.serving.vector_io.serve",
    needs=(Api.inference, Api.files)))
register_api(ApiSpec(
    Api.safety, routes="polystack.apis.safety.routes", deprecated_prefixes=OPENAI_V1,
    providers="polystack.providers.registry.safety", protocol="polystack.apis.safety.protocol.SafetyProvider",
    serve="polystack.core.serving.safety.serve", needs=(Api.inference,),
    serves_also=(Api.shields,), resource_type="shield", registered_resources="shields"))
register_api(ApiSpec(Api.shields, routes="polystack.apis.shields.routes"))
register_api(ApiSpec(Api.models, routes="polystack.apis.models.routes", deprecated_prefixes=OPENAI_V1))
register_api(ApiSpec(
    Api.files, routes="polystack.apis.files.routes", deprecated_prefixes=OPENAI_V1,
    providers="polystack.providers.registry.files", protocol="polystack.apis.files.protocol.Files"))
register_api(ApiSpec(
    Api.conversations, routes="polystack.apis.conversations.routes", deprecated_prefixes=OPENAI_V1,
    serve="polystack.core.serving.conversations.serve"))
register_api(ApiSpec(Api.prompts, routes="polystack.apis.prompts.routes", serve="polystack.core.serving.prompts.serve",
                     registered_resources="prompts"))
register_api(ApiSpec(
    Api.tool_runtime, routes="polystack.apis.tool_runtime.routes",
    providers="polystack.providers.registry.tool_runtime", protocol="polystack.apis.tool_runtime.protocol.ToolRuntime",
    serve="polystack.core.serving.tool_runtime.serve",
    serves_also=(Api.tool_groups,), resource_type="tool_group", registered_resources="tool_groups"))
register_api(ApiSpec(Api.tool_groups, routes="polystack.apis.tool_groups.routes"))
register_api(ApiSpec(
    Api.responses, routes="polystack.apis.responses.routes", deprecated_prefixes=OPENAI_V1,
    serve="polystack.core.serving.responses.serve",
    needs=(Api.inference, Api.files, Api.vector_io, Api.conversations, Api.prompts, Api.tool_runtime)))
register_api(ApiSpec(
    Api.agents, routes="polystack.apis.agents.routes", prefixes=("/v1alpha",), deprecated_prefixes=("/v1",),
    serve="polystack.core.serving.agents.serve",
    needs=(Api.responses, Api.conversations, Api.tool_runtime, Api.safety)))
register_api(ApiSpec(Api.providers, routes="polystack.apis.providers.routes",
                     serve="polystack.core.builtin.serve_providers", always=True))
register_api(ApiSpec("keys", routes="polystack.apis.keys.routes", serve="polystack.core.keys.serving.serve",
                     always=True))
register_api(ApiSpec("audit", routes="polystack.apis.audit.routes", serve="polystack.core.keys.serving.serve_audit",
                     always=True))
register_api(ApiSpec(Api.inspect, routes="polystack.apis.inspect.routes",
                     serve="polystack.core.builtin.serve_inspect", always=True))


def register_plugin_apis() -> None:
    """Register the ApiSpec of every installed `polystack.apis` entry point; a broken one is logged, not fatal."""
    for entry in entry_points(group="polystack.apis"):
        try:
            spec = entry.load()
            if not isinstance(spec, ApiSpec):
                raise TypeError(f"{entry.value} is a {type(spec).__name__}, not an ApiSpec")
            register_api(spec)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the server
            logger.warning("API plugin %s failed to load: %s", entry.name, exc)


register_plugin_apis()
