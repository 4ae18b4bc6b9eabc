"""The request-context middleware: one pure-ASGI pass that authenticates and sets the RequestContext."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.errors import InvalidRequestError, PolystackError
from polystack.core.access.authn import Authenticator, InvalidToken, MissingCredential, build_authenticator
from polystack.core.access.config import AuthConfig
from polystack.core.access.policy import DEFAULT_POLICY
from polystack.core.request_context import (
    PROVIDER_DATA_HEADERS,
    RequestContext,
    reset_request_context,
    set_request_context,
)
from polystack.core.server.replies import send_error

OPEN_PATHS = frozenset({"/v1/health", "/v1/version"})  # liveness probes and clients' version checks need no key
_PROVIDER_DATA_PARAM = "X-LlamaStack-Provider-Data"
# A scope key only in-process code can set (no HTTP request can): the library client's `as_user`.
IN_PROCESS_USER = "polystack.as_user"
_AUTHENTICATED = frozenset({"http", "websocket"})  # a WebSocket needs the same credential as a request
_POLICY_VIOLATION = 1008
_READ = frozenset({*PROVIDER_DATA_HEADERS, b"authorization", b"x-request-id", b"traceparent"})


class RequestContextMiddleware:
    """Sets the RequestContext of every HTTP request and WebSocket (the library client's too: same app).

    It reads, in one scan of the headers, the provider data (X-LlamaStack-Provider-Data or
    X-OGX-Provider-Data), `Authorization`, `X-Request-ID` and `traceparent`. With `auth`, a missing or
    invalid bearer token is a 401 before any route runs (an identity provider that cannot be reached, a
    503); without it the caller has no principal and the hot path does no more than parse the provider
    data. In-process, the library client may put a `User` under the scope key IN_PROCESS_USER instead.
    """

    def __init__(self, app: ASGIApp, auth: AuthConfig | None = None,
                 authenticator: Authenticator | None = None,
                 virtual_keys: Callable[[str], Awaitable[Any]] | None = None,
                 open_paths: frozenset[str] = OPEN_PATHS) -> None:
        """`virtual_keys(token)`: the record of a key made through /v1/keys (core/keys), asked when the auth
        provider refuses a bearer token."""
        self.app = app
        if authenticator is None and auth is not None:
            authenticator = build_authenticator(auth.provider_config)
        self._authenticator = authenticator
        self._virtual_keys = virtual_keys
        self._open_paths = open_paths
        self._policy = auth.policy() if auth is not None else DEFAULT_POLICY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in _AUTHENTICATED:  # lifespan
            await self.app(scope, receive, send)
            return
        raw_data = authorization = request_id = traceparent = None
        for name, value in scope["headers"]:
            if name not in _READ:  # most headers: one set lookup
                continue
            if name == b"authorization":
                authorization = value
            elif name == b"x-request-id":
                request_id = value
            elif name == b"traceparent":
                traceparent = value
            else:
                raw_data = value
        context = RequestContext(None, None, self._policy)
        try:
            if raw_data is not None:
                context.provider_data = parse_provider_data(raw_data)
            if IN_PROCESS_USER in scope:
                context.user = scope[IN_PROCESS_USER]
            elif self._authenticator is not None and scope["path"] not in self._open_paths:
                context.user, context.key_id = await self._authenticate(authorization, scope)
        except PolystackError as error:
            if scope["type"] == "websocket":  # refuse the handshake (uvicorn answers it with a 403)
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": _POLICY_VIOLATION, "reason": error.message[:120]})
            else:
                await _send_error(send, error)
            return
        if request_id is not None and request_id.isascii() and 0 < len(request_id) <= 200:
            context._request_id = request_id.decode()
        if traceparent is not None:
            context.trace_id, context.parent_span_id = parse_traceparent(traceparent)
        token = set_request_context(context)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_request_context(token)

    async def _authenticate(self, authorization: bytes | None, scope: Scope) -> tuple[Any, str | None]:
        """The caller (and a virtual key's id): the auth provider's principal, else a virtual key's owner."""
        assert self._authenticator is not None
        if not authorization or not authorization.strip():
            raise MissingCredential
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("expected 'Authorization: Bearer <token>'")
        try:
            return await self._authenticator.authenticate(token, scope), None
        except InvalidToken:
            record = await self._virtual_keys(token) if self._virtual_keys is not None else None
            if record is None:
                raise
            return record.user, record.id  # a virtual key: its owner, and its id for quotas and usage


def parse_provider_data(raw: bytes) -> dict[str, Any]:
    """The header's JSON object, or a 400 that names only the offending key (its values are secrets)."""
    try:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        raise InvalidRequestError("X-LlamaStack-Provider-Data must be a JSON object",
                                  param=_PROVIDER_DATA_PARAM) from None
    try:
        bad_key = unsendable_key(data)
    except RecursionError:
        bad_key = "(nested too deep)"
    if bad_key is not None:
        # the value goes into upstream headers and URLs; it is a secret, so only its key is named
        raise InvalidRequestError(f"X-LlamaStack-Provider-Data: '{bad_key}' holds control or non-ASCII "
                                  "characters", param=_PROVIDER_DATA_PARAM)
    return data


def parse_traceparent(raw: bytes) -> tuple[str | None, str | None]:
    """W3C trace context `00-<trace id>-<parent span id>-<flags>`; anything else is ignored."""
    parts = raw.decode("latin-1").strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None, None
    try:
        int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        return None, None
    return parts[1].lower(), parts[2].lower()


def unsendable_key(data: Any, key: str = "") -> str | None:
    """The key path of the first string that is not printable ASCII, which no HTTP header can carry."""
    if isinstance(data, str):
        return None if data.isascii() and data.isprintable() else key
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for name, value in children:
        path = f"{key}[{name}]" if isinstance(name, int) else (f"{key}.{name}" if key else str(name))
        if isinstance(name, str) and not (name.isascii() and name.isprintable()):
            return "(a key)"
        found = unsendable_key(value, path)
        if found is not None:
            return found
    return None


async def _send_error(send: Send, error: PolystackError) -> None:
    headers = tuple((name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in (error.headers or {}).items())
    if error.status_code == 401 and not any(name == b"www-authenticate" for name, _ in headers):
        headers += ((b"www-authenticate", b'Bearer realm="polystack"'),)
    await send_error(send, error, extra_headers=headers)
