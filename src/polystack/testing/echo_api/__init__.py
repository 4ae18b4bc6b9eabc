"""A tiny API for tests of the API seam: everything a new API needs, and nothing else.

Its contract is `protocol.py` (types and Protocol), its HTTP surface `routes.py`, its one provider
`provider.py` listed by `registry.py`, and `SPEC` below. Nothing in the runtime names it: a test calls
`register_api(SPEC)` and the stack, resolver, server, library client, inspect and `list-apis` serve it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from polystack.apis.catalog import ApiSpec, register_api, unregister_api
from polystack.apis.datatypes import Api

SPEC = ApiSpec(
    "echo",
    routes="polystack.testing.echo_api.routes",
    providers="polystack.testing.echo_api.registry",
    protocol="polystack.testing.echo_api.protocol.Echo",  # each provider is checked against it at startup
    needs=(Api.inference,),  # started after inference when both are configured
)


@contextmanager
def registered() -> Iterator[ApiSpec]:
    """The echo API in the catalog for the duration of the block."""
    register_api(SPEC)
    try:
        yield SPEC
    finally:
        unregister_api(SPEC.api)
