"""Per-call facts a tool_runtime provider may need besides the tool's arguments: the group the router resolved
the tool in (its MCP endpoint, its args), and the caller's `authorization` token for an MCP server.

Context variables rather than extra parameters, so providers that need neither (web search) keep the plain
`ToolRuntime` signature.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from polystack.apis.tool_groups.types import ToolGroup

_group: ContextVar[ToolGroup | None] = ContextVar("polystack_tool_group", default=None)
_authorization: ContextVar[str | None] = ContextVar("polystack_tool_authorization", default=None)


def current_tool_group() -> ToolGroup | None:
    """The group the tool being invoked was resolved in (set by the tool runtime router)."""
    return _group.get()


def caller_authorization() -> str | None:
    """The `authorization` token the caller sent with invoke or list-tools; never log it."""
    return _authorization.get()


@contextmanager
def invoking_in(group: ToolGroup) -> Iterator[None]:
    token = _group.set(group)
    try:
        yield
    finally:
        _group.reset(token)


@contextmanager
def authorized_by(authorization: str | None) -> Iterator[None]:
    token = _authorization.set(authorization)
    try:
        yield
    finally:
        _authorization.reset(token)
