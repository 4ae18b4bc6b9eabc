"""Provider configs -> validated specs -> dependency order -> instances, wired to their routers."""

from __future__ import annotations

import difflib
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from importlib import import_module
from typing import Any

from pydantic import BaseModel, ValidationError

from polystack.apis.catalog import CATALOG, serving_api
from polystack.core.config import ProviderConfig, RunConfig, location, problem_of
from polystack.core.errors import ConfigError, StackError
from polystack.core.impls import ProviderDeps
from polystack.core.provider_protocols import check_provider
from polystack.core.registered_resources import check_registered_resources
from polystack.core.storage.backends import Storage
from polystack.providers.spec import ProviderSpec, import_dotted

logger = logging.getLogger("polystack.core")


@dataclass
class ProviderInstance:
    """A running provider: its spec, validated config and implementation object."""

    api: str
    provider_id: str
    spec: ProviderSpec
    config: BaseModel
    impl: object = None


@dataclass
class PlannedProvider:
    api: str
    provider_id: str
    spec: ProviderSpec
    config: BaseModel
    path: str


def _find_spec(api: str, entry: ProviderConfig, specs: dict[tuple[str, str], ProviderSpec], path: str) -> ProviderSpec:
    if entry.module:
        spec = import_module(entry.module).get_provider_spec()
        if not isinstance(spec, ProviderSpec):
            raise ConfigError(f"module '{entry.module}' get_provider_spec() did not return a ProviderSpec", path=path)
        return spec
    spec = specs.get((api, entry.provider_type))
    if spec is None:
        known = [ptype for (a, ptype) in specs if a == api]
        close = difflib.get_close_matches(entry.provider_type, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Known for {api}: {', '.join(sorted(known))}."
        raise ConfigError(
            f"unknown provider type '{entry.provider_type}' for API '{api}'.{hint}", path=f"{path}.provider_type"
        )
    return spec


def _validate_config(spec: ProviderSpec, raw: dict[str, Any], path: str) -> BaseModel:
    try:
        config_class = spec.load_config_class()
    except ModuleNotFoundError as exc:
        raise StackError(missing_package_message(spec, exc)) from None
    try:
        return config_class.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(problem_of(first), path=f"{path}.config.{location(first['loc'])}") from None


def missing_package_message(spec: ProviderSpec, exc: ModuleNotFoundError) -> str:
    install = f"pip install 'polystack[{spec.extra}]'" if spec.extra else f"pip install {' '.join(spec.pip_packages)}"
    return f"provider {spec.provider_type} needs the package '{exc.name}', which is not installed. Run: {install}"


def plan(config: RunConfig, specs: dict[tuple[str, str], ProviderSpec]) -> list[PlannedProvider]:
    """Validate every provider entry and order them so each API's dependencies come first."""
    check_registered_resources(config.registered_resources, config.served_apis())
    planned: dict[str, list[PlannedProvider]] = {}
    seen_ids: dict[str, str] = {}
    for api, entries in config.providers.items():
        api_spec = CATALOG.get(api)
        if api_spec is None:
            raise ConfigError(f"unknown API '{api}' (known: {', '.join(sorted(CATALOG))})", path=f"providers.{api}")
        if not api_spec.takes_providers:
            raise ConfigError(
                f"'{api}' is served by the stack itself and takes no providers", path=f"providers.{api}"
            )
        for index, entry in enumerate(entries):
            path = f"providers.{api}[{index}]"
            if entry.provider_id in seen_ids:
                raise ConfigError(
                    f"provider_id '{entry.provider_id}' is already used by {seen_ids[entry.provider_id]}",
                    path=f"{path}.provider_id",
                )
            if "/" in entry.provider_id:
                raise ConfigError("a provider_id may not contain '/'", path=f"{path}.provider_id")
            seen_ids[entry.provider_id] = path
            spec = _find_spec(api, entry, specs, path)
            planned.setdefault(api, []).append(
                PlannedProvider(api, entry.provider_id, spec, _validate_config(spec, entry.config, path), path)
            )
    return [provider for api in _api_order(planned) for provider in planned[api]]


def _api_order(planned: dict[str, list[PlannedProvider]]) -> list[str]:
    """APIs ordered so that those a router `needs` (its spec) and those its providers depend on come first."""
    graph: dict[str, set[str]] = {}
    for api, providers in planned.items():
        graph[api] = {dependency for dependency in CATALOG[api].needs if dependency in planned}
        for provider in providers:
            for dependency in map(serving_api, provider.spec.api_dependencies):  # models -> inference
                if dependency not in planned:
                    raise StackError(
                        f"provider '{provider.provider_id}' ({provider.spec.provider_type}) needs the "
                        f"'{dependency}' API, but no provider for it is configured ({provider.path})"
                    )
                graph[api].add(dependency)
            graph[api].update(d for d in map(serving_api, provider.spec.optional_api_dependencies) if d in planned)
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(api for api in exc.args[1])
        raise StackError(f"provider dependencies form a cycle: {cycle}") from None


async def instantiate(
    provider: PlannedProvider, deps: Mapping[str, object], storage: Storage | None = None
) -> ProviderInstance:
    """Import the provider's module and call its factory: `await create(config, deps)`."""
    try:
        module = import_module(provider.spec.module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("polystack"):
            raise
        raise StackError(missing_package_message(provider.spec, exc)) from None
    wanted = ProviderDeps(
        {
            api: deps[api]
            for api in (*provider.spec.api_dependencies, *provider.spec.optional_api_dependencies)
            if api in deps
        },
        storage,
    )
    try:
        impl: object = await module.create(provider.config, wanted)
    except ModuleNotFoundError as exc:
        raise StackError(missing_package_message(provider.spec, exc)) from None
    if hasattr(impl, "provider_id"):
        setattr(impl, "provider_id", provider.provider_id)  # noqa: B010 - any provider may carry its id
    await _check_protocol(provider, impl)
    return ProviderInstance(provider.api, provider.provider_id, provider.spec, provider.config, impl)


async def _check_protocol(provider: PlannedProvider, impl: Any) -> None:
    """Fail at startup, not mid-request, when the instance lacks a method of its API's protocol."""
    api_spec = CATALOG.get(provider.api)
    if api_spec is None or api_spec.protocol is None:
        return
    try:
        check_provider(impl, import_dotted(api_spec.protocol), api=provider.api,
                       provider_id=provider.provider_id, provider_type=provider.spec.provider_type)
    except StackError:
        shutdown = getattr(impl, "shutdown", None)
        if shutdown is not None and inspect.iscoroutinefunction(shutdown):
            await shutdown()  # the instance never joins the stack, so the stack's stop() would not reach it
        raise


def provider_data_validator(spec: ProviderSpec) -> type[BaseModel] | None:
    return import_dotted(spec.provider_data_validator) if spec.provider_data_validator else None
