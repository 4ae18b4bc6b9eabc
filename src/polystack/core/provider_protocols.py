"""Startup check that each provider instance implements its API's protocol (apis/<api>/protocol.py).

An API names, in its `ApiSpec.protocol`, the Protocol every provider of it implements (for inference
`InferenceProvider`, which adds `list_models` and `shutdown` to `Inference`). Right after a provider's
factory returns, the resolver calls `check_provider`: a method the protocol declares but the instance
lacks, or a plain function where the protocol's is `async def`, stops the server with a StackError that
names the provider, the API and each method — at startup, not at the first request that needs it.

`isinstance` against a `runtime_checkable` protocol is not enough: it tests presence only, and a sync
`def` passes for an `async def` (the router would then `await` a non-awaitable mid-request). Arguments
are not compared: providers legitimately widen signatures (extra keyword arguments with defaults).
A new API plugs in by setting `protocol=` in its ApiSpec; nothing here changes.
"""

from __future__ import annotations

import inspect
from typing import Any

from typing_extensions import get_protocol_members

from polystack.core.errors import StackError


def protocol_methods(protocol: type) -> dict[str, bool]:
    """The methods `protocol` declares (its protocol bases included), each with whether it is async.

    Data members (e.g. `provider_id: str`) are left out: the resolver sets those itself.
    """
    members = {name: getattr(protocol, name, None) for name in get_protocol_members(protocol)}
    return {name: inspect.iscoroutinefunction(member) for name, member in members.items() if callable(member)}


def protocol_problems(impl: Any, protocol: type) -> list[str]:
    """What `impl` lacks to implement `protocol`: missing methods, and sync ones where async is declared."""
    problems = []
    for name, is_async in sorted(protocol_methods(protocol).items()):
        method = getattr(impl, name, None)
        if method is None or not callable(method):
            problems.append(f"{name} (missing)")
        elif is_async and not inspect.iscoroutinefunction(method):
            problems.append(f"{name} (not async def)")
    return problems


def check_provider(impl: Any, protocol: type, *, api: str, provider_id: str, provider_type: str) -> None:
    """Raise StackError naming the provider, the API and every method it lacks."""
    problems = protocol_problems(impl, protocol)
    if problems:
        raise StackError(
            f"provider '{provider_id}' ({provider_type}) does not implement the '{api}' API's "
            f"{protocol.__name__} protocol: {', '.join(problems)}"
        )
