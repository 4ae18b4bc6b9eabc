"""Per-request context: the caller's principal, provider data, request id and trace ids, in one place."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from polystack.apis.datatypes import User
from polystack.apis.errors import InvalidRequestError
from polystack.core.access.policy import DEFAULT_POLICY, SYSTEM, AccessPolicy

PROVIDER_DATA_HEADERS = (b"x-llamastack-provider-data", b"x-ogx-provider-data")

T = TypeVar("T", bound=BaseModel)


@dataclass(slots=True)
class RequestContext:
    """Who calls and with what: set once per request by the middleware (HTTP and library client alike).

    `user` is None when auth is off; `key_id` names the virtual key used, if one was. `policy` is the
    server's access policy, carried here so every
    store can enforce it without being handed it. The request id is made on first use, so requests
    that never log it pay nothing.
    """

    user: User | None = None
    provider_data: dict[str, Any] | None = None
    policy: AccessPolicy = DEFAULT_POLICY
    trace_id: str | None = None
    parent_span_id: str | None = None
    key_id: str | None = None  # the virtual key the caller authenticated with (core/keys), if any
    _request_id: str | None = field(default=None, repr=False)

    @property
    def request_id(self) -> str:
        if self._request_id is None:
            if self is _EMPTY:  # outside any request: nothing to share an id with
                return f"req_{uuid.uuid4().hex}"
            self._request_id = f"req_{uuid.uuid4().hex}"
        return self._request_id


_EMPTY = RequestContext()
_context: ContextVar[RequestContext] = ContextVar("request_context", default=_EMPTY)


def request_context() -> RequestContext:
    return _context.get()


def set_request_context(context: RequestContext) -> Token[RequestContext]:
    return _context.set(context)


def reset_request_context(token: Token[RequestContext]) -> None:
    _context.reset(token)


@contextmanager
def as_system() -> Iterator[RequestContext]:
    """Run the server's own calls (query rewriting, an agent loop, a guard model) as the system principal.

    The policy allows the system principal everything, so internal calls are explicit rather than
    borrowing the caller's rights; the caller's provider data and ids are kept.
    """
    current = _context.get()
    token = _context.set(replace(current, user=SYSTEM, _request_id=current.request_id))
    try:
        yield _context.get()
    finally:
        _context.reset(token)


@contextmanager
def acting_as(user: User | None, policy: AccessPolicy | None = None) -> Iterator[RequestContext]:
    """Run in-process code as `user` (under `policy`, else the current one): for work done on a caller's
    behalf outside its request (a background job) and for tests."""
    current = _context.get()
    token = _context.set(replace(current, user=user, policy=policy or current.policy,
                                 _request_id=current.request_id))
    try:
        yield _context.get()
    finally:
        _context.reset(token)


class _CurrentUser:
    """`current_user.get()`: the caller's principal (kept for the callers written before RequestContext)."""

    @staticmethod
    def get() -> User | None:
        return _context.get().user


current_user = _CurrentUser()


def set_provider_data(data: dict[str, Any] | None) -> Token[RequestContext]:
    """Sets only the provider data (tests and in-process callers); reset with reset_provider_data."""
    return _context.set(replace(_context.get(), provider_data=data))


def reset_provider_data(token: Token[RequestContext]) -> None:
    _context.reset(token)


def provider_data(validator: type[T]) -> T | None:
    """The request's provider data validated by a provider's model; unknown keys are ignored."""
    raw = _context.get().provider_data
    if not raw:
        return None
    try:
        return validator.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_path = ".".join(str(p) for p in first["loc"])
        raise InvalidRequestError(
            f"Invalid provider data header: '{field_path}': {first['msg']}", param="X-LlamaStack-Provider-Data"
        ) from None
