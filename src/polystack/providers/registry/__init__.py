"""All provider specs: those of the catalog's APIs (each ApiSpec names its registry module), plus
third-party ones from entry points.

Third-party packages register a callable returning a list of ProviderSpec under the
`polystack.providers` entry-point group. Listing specs imports no provider code.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from polystack.apis.catalog import CATALOG
from polystack.providers.spec import ProviderSpec

logger = logging.getLogger("polystack.providers")


def registry_modules() -> tuple[str, ...]:
    """The provider registry module of every API in the catalog that takes providers."""
    return tuple(spec.providers for spec in CATALOG.values() if spec.providers is not None)


def builtin_specs(modules: tuple[str, ...] | None = None) -> list[ProviderSpec]:
    specs: list[ProviderSpec] = []
    for module in registry_modules() if modules is None else modules:
        specs.extend(import_module(module).available_providers())
    return specs


def external_specs() -> list[ProviderSpec]:
    specs: list[ProviderSpec] = []
    for entry in entry_points(group="polystack.providers"):
        try:
            specs.extend(entry.load()())
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the server
            logger.warning("provider plugin %s failed to load: %s", entry.name, exc)
    return specs


@cache
def _specs_of(modules: tuple[str, ...]) -> dict[tuple[str, str], ProviderSpec]:
    return {(spec.api, spec.provider_type): spec for spec in [*builtin_specs(modules), *external_specs()]}


def all_specs() -> dict[tuple[str, str], ProviderSpec]:
    """Every known provider spec keyed by (api, provider_type); an API registered later is seen at once."""
    return _specs_of(registry_modules())


def specs_for(api: str) -> list[ProviderSpec]:
    return [spec for (spec_api, _), spec in all_specs().items() if spec_api == api]
