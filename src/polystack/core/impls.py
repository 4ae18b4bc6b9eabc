"""Impls: the object serving each API, looked up by API name and read back as that API's protocol.

`Stack.impls` maps an API name (apis/catalog.py) to what serves it: a router, a routing table or a single
provider. Code that needs another API (a serve factory, a provider's `deps`, an inference hook) asks for it
by name *and* protocol, e.g. `impls.require(Api.inference, Inference)`: the type checker then knows its
methods, and an object missing one fails at startup with a StackError naming them, not later with an
AttributeError. A new API (responses, conversations, safety, agents, batches, eval) adds its name to the
catalog and a `@runtime_checkable` Protocol to apis/<api>/protocol.py; nothing here changes. A provider's
factory receives its declared APIs the same way, as `ProviderDeps` (an Impls that also carries the storage).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from typing_extensions import get_protocol_members

from polystack.core.errors import StackError

if TYPE_CHECKING:
    from polystack.core.storage.backends import Storage

P = TypeVar("P")


class Impls(dict[str, object]):
    """API name -> the object serving it."""

    def get_as(self, api: str, protocol: type[P]) -> P | None:
        """What serves `api`, typed as `protocol`; None when the API is not served."""
        impl = self.get(api)
        return None if impl is None else as_protocol(impl, protocol, f"the {api} API")

    def require(self, api: str, protocol: type[P]) -> P:
        """What serves `api`, typed as `protocol`; StackError when the API is not served."""
        impl = self.get_as(api, protocol)
        if impl is None:
            raise StackError(f"the {api} API is needed but not served: configure a provider for it")
        return impl


def as_protocol(impl: object, protocol: type[P], what: str) -> P:
    """`impl` as `protocol` (a runtime-checkable Protocol); StackError naming the methods it lacks."""
    if not isinstance(impl, protocol):
        missing = sorted(name for name in get_protocol_members(protocol) if not hasattr(impl, name))
        raise StackError(f"{what} ({type(impl).__name__}) does not implement {protocol.__name__}: "
                         f"it lacks {', '.join(missing)}")
    return impl


def all_as(impls: Mapping[str, object], protocol: type[P], api: str) -> dict[str, P]:
    """Every provider of `api` (provider_id -> impl) typed as `protocol`, checked like `as_protocol`."""
    return {pid: as_protocol(impl, protocol, f"provider '{pid}' of {api}") for pid, impl in impls.items()}


class ProviderDeps(Impls):
    """What a provider's factory receives: the routers of its declared APIs (`deps.require(Api.inference,
    Inference)`), and the storage backends (for providers that keep metadata, e.g.
    `await deps.storage.sql(config.metadata_store)`)."""

    def __init__(self, apis: Mapping[str, object], storage: Storage | None = None) -> None:
        super().__init__(apis)
        self.storage = storage
