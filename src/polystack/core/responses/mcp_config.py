"""The rules of an `mcp` tool's configuration: which tools are offered, which need approval, what is kept.

- `allowed_tools`: a list of names, or a filter {tool_names, read_only}; absent: every tool the server lists.
- `require_approval`: "always" (OpenAI's default, when absent), "never", or {always: filter, never: filter}; a
  tool named by neither filter needs approval. A filter's `read_only: true` matches the tools the server
  marks read-only (annotation readOnlyHint).
- The response keeps the tool config without its secrets, as OpenAI returns it: `authorization` left out,
  each `headers` value replaced by "<redacted>" (the names stay: they say what was sent).
"""

from __future__ import annotations

import re
from typing import Any

from polystack.apis.responses.items import McpTool as ListedTool
from polystack.apis.responses.types import McpApprovalFilter, McpServerTool, McpToolFilter, RequestTool

REDACTED = "<redacted>"
_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_-]")


def function_name(tool_name: str) -> str:
    """The function a model sees for an MCP tool (chat APIs allow letters, digits, `_` and `-`, 64 at most)."""
    return _NOT_A_NAME.sub("_", tool_name)[:64]


def shown_tool_config(tool: RequestTool) -> dict[str, Any]:
    """A request tool as the response object shows (and the store keeps) it."""
    shown = tool.model_dump(mode="json", exclude_none=True, by_alias=True)
    if isinstance(tool, McpServerTool):
        shown.pop("authorization", None)
        if tool.headers:
            shown["headers"] = dict.fromkeys(tool.headers, REDACTED)
    return shown


def _read_only(listed: ListedTool) -> bool:
    return bool((listed.annotations or {}).get("readOnlyHint"))


def _matches(tool_filter: McpToolFilter | None, listed: ListedTool) -> bool:
    if tool_filter is None:
        return False
    if tool_filter.tool_names is not None and listed.name in tool_filter.tool_names:
        return True
    return bool(tool_filter.read_only) and _read_only(listed)


def allowed(config: McpServerTool, listed: ListedTool) -> bool:
    """Whether the model is offered `listed` (allowed_tools)."""
    rule = config.allowed_tools
    if rule is None:
        return True
    if isinstance(rule, list):
        return listed.name in rule
    if rule.tool_names is not None and listed.name not in rule.tool_names:
        return False
    return not rule.read_only or _read_only(listed)


def needs_approval(config: McpServerTool, listed: ListedTool) -> bool:
    """Whether a call of `listed` waits for the client's mcp_approval_response (require_approval)."""
    rule = config.require_approval
    if rule is None or rule == "always":
        return True
    if rule == "never":
        return False
    assert isinstance(rule, McpApprovalFilter)
    if _matches(rule.always, listed):
        return True
    return not _matches(rule.never, listed)
