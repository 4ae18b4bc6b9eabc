"""JSONGuardMiddleware: a JSON body with lone surrogates, integers beyond 64 bits or deep nesting is a 400.

Python's json module (which FastAPI parses with) accepts all three; the response writer and the stores
do not, so such a body used to be a 500 or, worse, stored and then unreadable.
"""

from __future__ import annotations

import json

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.errors import InvalidRequestError
from polystack.apis.json_values import json_problem
from polystack.core.server.asgi_body import read_body, replay
from polystack.core.server.replies import send_error

# 19+ digits in a row may be an integer outside the 64-bit range, which orjson would silently turn into a
# float; found by mapping digits to "0" and the rest to " " (translate and find run at C speed, a regex does not)
_DIGIT_MAP = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_RUN = b"0" * 19
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def body_problem(body: bytes, max_depth: int) -> tuple[str, str] | None:
    """The first problem of a JSON body as (key path, message); None also when it is not JSON at all."""
    try:
        data = orjson.loads(body)  # fast, and it refuses lone surrogates itself
        if body.translate(_DIGIT_MAP).find(_LONG_RUN) == -1:
            return json_problem(data, max_depth=max_depth, scalars=False)
    except orjson.JSONDecodeError:
        pass
    try:
        data = json.loads(body)
    except RecursionError:
        return "", f"nested deeper than {max_depth} levels"
    except ValueError:
        return None  # not JSON: the route's own parsing says so
    return json_problem(data, max_depth=max_depth)


class JSONGuardMiddleware:
    """Pure ASGI: reads a JSON body whole (the size limit is enforced outside), checks it, then replays it."""

    def __init__(self, app: ASGIApp, *, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client went away
        problem = body_problem(body, self.max_depth) if body else None
        if problem is not None:
            await _refuse(send, *problem)
            return
        await self.app(scope, replay(body, receive), send)


def _is_json(scope: Scope) -> bool:
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"").split(b";")[0].strip().lower()
    return content_type in (b"", b"application/json") or content_type.endswith(b"+json")


async def _refuse(send: Send, path: str, problem: str) -> None:
    path = path if len(path) <= 120 else path[:117] + "..."
    error = InvalidRequestError(f"Invalid value for '{path}': {problem}." if path else f"Invalid request: {problem}.",
                                param=path or None, code="invalid_request")
    await send_error(send, error)
