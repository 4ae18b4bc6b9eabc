"""All provider specs: the built-in registry files plus third-party ones from entry points.

Third-party packages register a callable returning a list of ProviderSpec under the
`polystack.providers` entry-point group. Listing specs imports no provider code.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec

logger = logging.getLogger("polystack.providers")

REGISTRY_MODULES: dict[Api, str] = {
    Api.inference: "polystack.providers.registry.inference",
    Api.files: "polystack.providers.registry.files",
    Api.vector_io: "polystack.providers.registry.vector_io",
}


def builtin_specs() -> list[ProviderSpec]:
    specs: list[ProviderSpec] = []
    for module in REGISTRY_MODULES.values():
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
def all_specs() -> dict[tuple[Api, str], ProviderSpec]:
    """Every known provider spec keyed by (api, provider_type)."""
    return {(spec.api, spec.provider_type): spec for spec in [*builtin_specs(), *external_specs()]}


def specs_for(api: Api) -> list[ProviderSpec]:
    return [spec for (spec_api, _), spec in all_specs().items() if spec_api == api]
