"""The request-context middleware: one pure-ASGI pass that authenticates and sets the RequestContext."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.errors import AuthenticationError, InvalidRequestError, PolystackError
from polystack.core.access.api_keys import ApiKeyAuthenticator
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
_READ = frozenset({*PROVIDER_DATA_HEADERS, b"authorization", b"x-request-id", b"traceparent"})


class RequestContextMiddleware:
    """Sets the RequestContext of every HTTP request (the library client's too: it calls the same app).

    It reads, in one scan of the headers, the provider data (X-LlamaStack-Provider-Data or
    X-OGX-Provider-Data), `Authorization`, `X-Request-ID` and `traceparent`. With `auth`, a missing or
    unknown bearer key is a 401 before any route runs; without it the caller has no principal and
    the hot path does no more than parse the provider data.
    """

    def __init__(self, app: ASGIApp, auth: AuthConfig | None = None, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app = app
        self._open_paths = open_paths
        self._authenticator = ApiKeyAuthenticator(auth.provider_config) if auth is not None else None
        self._policy = auth.policy() if auth is not None else DEFAULT_POLICY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
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
            if self._authenticator is not None and scope["path"] not in self._open_paths:
                context.user = self._authenticate(authorization)
        except PolystackError as error:
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

    def _authenticate(self, authorization: bytes | None) -> Any:
        assert self._authenticator is not None
        if authorization is None:
            raise AuthenticationError("Missing API key: send 'Authorization: Bearer <key>'", param="Authorization")
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        user = self._authenticator.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:  # never echo what was sent: it may be someone's key with a typo
            raise AuthenticationError("Invalid API key", param="Authorization")
        return user


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
    challenge = ((b"www-authenticate", b'Bearer realm="polystack"'),) if error.status_code == 401 else ()
    await send_error(send, error, extra_headers=challenge)
