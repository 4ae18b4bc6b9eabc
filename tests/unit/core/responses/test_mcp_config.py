"""The rules of an mcp tool's config: allowed_tools, require_approval (names and read_only), what is shown."""

from __future__ import annotations

from polystack.apis.responses.items import McpTool as Listed
from polystack.apis.responses.types import McpServerTool
from polystack.core.responses.mcp_config import allowed, function_name, needs_approval, shown_tool_config

READ = Listed(name="read", input_schema={}, annotations={"readOnlyHint": True})
WRITE = Listed(name="write", input_schema={})


def tool(**options: object) -> McpServerTool:
    return McpServerTool.model_validate({"type": "mcp", "server_label": "s", "server_url": "http://h/mcp", **options})


def test_allowed_tools_by_list_by_names_and_read_only():
    assert allowed(tool(), WRITE) and allowed(tool(allowed_tools=["write"]), WRITE)
    assert not allowed(tool(allowed_tools=["read"]), WRITE)
    assert not allowed(tool(allowed_tools={"tool_names": ["read"]}), WRITE)
    assert allowed(tool(allowed_tools={"read_only": True}), READ)
    assert not allowed(tool(allowed_tools={"read_only": True}), WRITE)


def test_approval_is_required_unless_said_otherwise():
    assert needs_approval(tool(), WRITE) and needs_approval(tool(require_approval="always"), READ)
    assert not needs_approval(tool(require_approval="never"), WRITE)
    per_tool = tool(require_approval={"never": {"tool_names": ["write"]}})
    assert not needs_approval(per_tool, WRITE) and needs_approval(per_tool, READ)
    read_only_free = tool(require_approval={"never": {"read_only": True}})
    assert not needs_approval(read_only_free, READ) and needs_approval(read_only_free, WRITE)
    both = tool(require_approval={"always": {"tool_names": ["write"]}, "never": {"tool_names": ["write", "read"]}})
    assert needs_approval(both, WRITE) and not needs_approval(both, READ)


def test_the_shown_config_has_no_secret():
    shown = shown_tool_config(tool(headers={"X-Key": "k-123"}, authorization="tok-456"))
    assert shown["headers"] == {"X-Key": "<redacted>"} and "authorization" not in shown
    assert "k-123" not in str(shown) and "tok-456" not in str(shown)
    assert shown_tool_config(tool()) == {"type": "mcp", "server_label": "s", "server_url": "http://h/mcp"}


def test_function_names_the_chat_api_accepts():
    assert function_name("get_time") == "get_time"
    assert function_name("files.read/v2") == "files_read_v2" and len(function_name("x" * 80)) == 64
