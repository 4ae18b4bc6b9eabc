"""ProviderSpec: what a provider is, declared with dotted strings so that listing imports nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class ProviderSpec:
    """A provider type.

    `module` must expose `async def create(config, deps) -> impl`; `config_class` is a dotted path to
    its pydantic config. `api_dependencies` are APIs whose routers it receives in `deps`.
    """

    api: str  # an API name of the catalog (apis/catalog.py); Api members are strings too
    provider_type: str
    module: str
    config_class: str
    description: str = ""
    pip_packages: tuple[str, ...] = ()
    extra: str | None = None
    api_dependencies: tuple[str, ...] = ()
    optional_api_dependencies: tuple[str, ...] = ()
    provider_data_validator: str | None = None
    deprecated: bool = False
    sample_config: dict[str, Any] = field(default_factory=dict)

    @property
    def is_remote(self) -> bool:
        return self.provider_type.startswith("remote::")

    def load_config_class(self) -> type[BaseModel]:
        return import_dotted(self.config_class)  # type: ignore[no-any-return]


def import_dotted(path: str) -> Any:
    """Import `package.module.Name`."""
    module_name, _, attribute = path.rpartition(".")
    return getattr(import_module(module_name), attribute)
