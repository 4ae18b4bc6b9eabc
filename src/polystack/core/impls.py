"""Impls: the object serving each API, looked up by API name and read back as that API's protocol.

`Stack.impls` maps an API name (apis/catalog.py) to what serves it: a router, a routing table or a single
provider. Code that needs another API (a serve factory, a provider's `deps`, an inference hook) asks for it
by name *and* protocol, e.g. `impls.require(Api.inference, Inference)`: the type checker then knows its
methods, and an object missing one fails at startup with a StackError naming them, not later with an
AttributeError. A new API (responses, conversations, safety, agents, batches, eval) adds its name to the
catalog and a `@runtime_checkable` Protocol to apis/<api>/protocol.py; nothing here changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from typing_extensions import get_protocol_members

from polystack.core.errors import StackError

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
