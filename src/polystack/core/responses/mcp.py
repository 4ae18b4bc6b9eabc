"""mcp: the tools of a remote MCP server, listed at the start of a response and called on the server.

Per response (a `ToolSession`): the server's tools are listed after `response.in_progress` (an
`mcp_list_tools` item; a listing already in the response chain for the same `server_label` is reused, as
OpenAI does), calls the client approved in this request's input run next, then the allowed tools are
offered to the model as functions. A call that needs approval ends the response with an
`mcp_approval_request` item; any other call is an `mcp_call` item. An unreachable server or a tool error is
a failed item whose error the model reads, never a failed response. The credentials (`headers`,
`authorization`) are sent to the server only: never logged, never stored (see mcp_config.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from polystack.apis.errors import InvalidRequestError, PolystackError
from polystack.apis.events import StreamEvent
from polystack.apis.responses.items import (
    Item,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    new_item_id,
)
from polystack.apis.responses.items import McpTool as ListedTool
from polystack.apis.responses.types import FunctionTool, McpServerTool, RequestTool
from polystack.core.responses import events
from polystack.core.responses.events import call_progress
from polystack.core.responses.mcp_approvals import Approval, approvals, listing
from polystack.core.responses.mcp_config import allowed, function_name, needs_approval
from polystack.core.responses.tools import RunOutput, ServerTool, ToolCall, ToolContext, ToolOutcome

if TYPE_CHECKING:
    from polystack.providers.utils.mcp.client import McpClient

_ANY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}


class McpTools:
    """The `mcp` request tool: one MCP client (pooled sessions) for every response; a session per response."""

    name = "mcp"

    def __init__(self, client: McpClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> McpClient:
        """Made for the first `mcp` tool: importing the MCP SDK would add about a second to start-up."""
        if self._client is None:
            from polystack.providers.utils.mcp.client import McpClient

            self._client = McpClient(provider_id="mcp")
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    def matches(self, tool: RequestTool) -> bool:
        return isinstance(tool, McpServerTool)

    async def prepare(self, tool: RequestTool, context: ToolContext) -> McpSession:
        """Check the tool's config and the approvals of the input (4xx before the first event)."""
        assert isinstance(tool, McpServerTool)
        param = f"tools[{context.request.tools.index(tool)}]"
        if tool.connector_id is not None:
            raise InvalidRequestError("connectors are not supported by this server; give the MCP server's "
                                      "server_url", param=f"{param}.connector_id")
        if not tool.server_url:
            raise InvalidRequestError("an mcp tool needs a server_url", param=f"{param}.server_url")
        url = urlsplit(tool.server_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InvalidRequestError("server_url must be an http:// or https:// URL",
                                      param=f"{param}.server_url")
        labels = [t.server_label for t in context.request.tools if isinstance(t, McpServerTool)]
        if labels.count(tool.server_label) > 1:
            raise InvalidRequestError(f"two mcp tools have the server_label '{tool.server_label}'",
                                      param=f"{param}.server_label")
        answered = await approvals(context.input_items, context.earlier)
        unknown = next((a for a in answered if a.request.server_label not in labels), None)
        if unknown is not None:
            raise InvalidRequestError(f"The approved call is to MCP server '{unknown.request.server_label}', which "
                                      "is not in 'tools'", param="tools")
        cached = await listing(context.input_items, context.earlier, tool.server_label)
        return McpSession(self.client, tool, cached,
                          [a for a in answered if a.request.server_label == tool.server_label])

    # The functions are offered by each response's McpSession, and their calls run by its McpCalls.
    async def functions(self, tool: RequestTool, context: ToolContext) -> list[FunctionTool]:
        return []

    def item(self, call: ToolCall, tool: RequestTool) -> Item:
        raise NotImplementedError("calls run through the response's McpSession")

    def run(self, call: ToolCall, tool: RequestTool, context: ToolContext
            ) -> AsyncIterator[StreamEvent | ToolOutcome]:
        raise NotImplementedError("calls run through the response's McpSession")

    def failed(self, call: ToolCall, tool: RequestTool, message: str) -> ToolOutcome:
        raise NotImplementedError("calls run through the response's McpSession")


class McpSession:
    """One `mcp` tool in one response: its listed tools, the approved calls to run, the calls of the model."""

    name = "mcp"

    def __init__(self, client: McpClient, tool: McpServerTool, cached: McpListTools | None,
                 approved: list[Approval]) -> None:
        self.client = client
        self.tool = tool
        self.listed: list[ListedTool] | None = list(cached.tools) if cached is not None else None
        self.approved = approved
        self.by_function: dict[str, ListedTool] = {}
        self.calls = McpCalls(self)

    # ---- the session (ToolSession) ------------------------------------------------------------

    async def begin(self, run: RunOutput) -> AsyncIterator[StreamEvent]:
        if self.listed is None:
            async for event in self._list(run):
                yield event
        for approval in self.approved:
            request = approval.request
            if not approval.approve:
                why = f" ({approval.reason})" if approval.reason else ""
                run.add_tool_call(request.id or request.name, function_name(request.name), request.arguments,
                                  f"The user denied this call of the tool '{request.name}'{why}; it was not run.")
                continue
            item_id = new_item_id("mcp_call")
            item = McpCall(id=item_id, server_label=self.tool.server_label, name=request.name, arguments="",
                           status="in_progress", approval_request_id=request.id)
            index = run.add_item(item)
            yield events.item_added(item, index)
            async for produced in self._call(item_id, index, request.name, request.arguments, request.id):
                if isinstance(produced, ToolOutcome):
                    run.replace_item(index, produced.item)
                    yield events.item_done(produced.item, index)
                    run.add_tool_call(request.id or item_id, function_name(request.name), request.arguments,
                                      produced.output)
                else:
                    yield produced

    def functions(self) -> list[tuple[FunctionTool, ServerTool]]:
        offered: list[tuple[FunctionTool, ServerTool]] = []
        self.by_function = {}
        for listed in self.listed or []:
            if not allowed(self.tool, listed):
                continue
            name = function_name(listed.name)
            if name in self.by_function:
                continue
            try:
                function = FunctionTool(name=name, description=listed.description, parameters=listed.input_schema)
            except ValidationError:  # a schema the chat API would refuse: the model may still call it
                function = FunctionTool(name=name, description=listed.description, parameters=_ANY_OBJECT)
            self.by_function[name] = listed
            offered.append((function, self.calls))
        return offered

    async def _list(self, run: RunOutput) -> AsyncIterator[StreamEvent]:
        """The mcp_list_tools item; on failure the model reads why (as the result of a listing call)."""
        label = self.tool.server_label
        item_id = new_item_id("mcp_list_tools")
        item = McpListTools(id=item_id, server_label=label, tools=[])
        index = run.add_item(item)
        yield events.item_added(item, index)
        yield call_progress("response.mcp_list_tools.in_progress", item_id, index)
        try:
            assert self.tool.server_url is not None  # prepare() checked it
            defs = await self.client.list_tools(self.tool.server_url, self.tool.headers,
                                                authorization=self.tool.authorization, refresh=True)
        except PolystackError as exc:
            item = McpListTools(id=item_id, server_label=label, tools=[], error=exc.message)
            run.replace_item(index, item)
            yield call_progress("response.mcp_list_tools.failed", item_id, index)
            yield events.item_done(item, index)
            self.listed = []
            run.add_tool_call(item_id, "mcp_list_tools", json.dumps({"server_label": label}),
                              f"Listing the tools of the MCP server '{label}' failed: {exc.message}")
            return
        listed = [ListedTool(name=d.name, description=d.description, input_schema=d.input_schema,
                             annotations=d.annotations) for d in defs]
        self.listed = [t for t in listed if allowed(self.tool, t)]
        item = McpListTools(id=item_id, server_label=label, tools=self.listed)
        run.replace_item(index, item)
        yield call_progress("response.mcp_list_tools.completed", item_id, index)
        yield events.item_done(item, index)

    async def _call(self, item_id: str, index: int, name: str, arguments: str, approval_request_id: str | None
                    ) -> AsyncIterator[StreamEvent | ToolOutcome]:
        """One call's events and outcome: a failure (server down, tool error, bad arguments) is a failed item."""
        yield call_progress("response.mcp_call.in_progress", item_id, index)
        if arguments:
            yield StreamEvent("response.mcp_call_arguments.delta",
                              {"item_id": item_id, "output_index": index, "delta": arguments})
        yield StreamEvent("response.mcp_call_arguments.done",
                          {"item_id": item_id, "output_index": index, "arguments": arguments})
        label = self.tool.server_label
        try:
            result = await self.client.call_tool(self.tool.server_url or "", self.tool.headers, name,
                                                 _arguments(arguments), authorization=self.tool.authorization)
        except PolystackError as exc:
            error: dict[str, Any] = (
                {"type": "mcp_protocol_error", "code": -32602, "message": exc.message} if exc.status_code == 400
                else {"type": "http_error", "code": exc.status_code, "message": exc.message})
            said = exc.message
        else:
            if not result.is_error:
                yield call_progress("response.mcp_call.completed", item_id, index)
                yield ToolOutcome(item=McpCall(id=item_id, server_label=label, name=name, arguments=arguments,
                                               approval_request_id=approval_request_id, output=result.text,
                                               status="completed"), output=result.text)
                return
            error = {"type": "mcp_tool_execution_error", "content": result.content}
            said = result.text or "the tool reported an error"
        yield call_progress("response.mcp_call.failed", item_id, index)
        yield ToolOutcome(item=McpCall(id=item_id, server_label=label, name=name, arguments=arguments,
                                       approval_request_id=approval_request_id, error=error, status="failed"),
                          output=f"The tool '{name}' failed: {said}", failed=True)


class McpCalls:
    """The model's calls of one session's tools (the ServerTool its functions are bound to)."""

    name = "mcp"

    def __init__(self, session: McpSession) -> None:
        self.session = session
        self.tool = session.tool

    def _listed(self, call: ToolCall) -> ListedTool:
        return self.session.by_function[call.name]

    def matches(self, tool: RequestTool) -> bool:
        return tool is self.tool

    async def functions(self, tool: RequestTool, context: ToolContext) -> list[FunctionTool]:
        return [function for function, _ in self.session.functions()]

    def item(self, call: ToolCall, tool: RequestTool) -> Item:
        listed = self._listed(call)
        if needs_approval(self.tool, listed):
            return McpApprovalRequest(id=_approval_id(call), server_label=self.tool.server_label, name=listed.name,
                                      arguments=call.arguments)
        return McpCall(id=call.item_id, server_label=self.tool.server_label, name=listed.name, arguments="",
                       status="in_progress")

    async def run(self, call: ToolCall, tool: RequestTool, context: ToolContext
                  ) -> AsyncIterator[StreamEvent | ToolOutcome]:
        listed = self._listed(call)
        if needs_approval(self.tool, listed):
            request = self.item(call, tool)
            yield ToolOutcome(item=request, output="", awaiting_approval=True)
            return
        async for produced in self.session._call(call.item_id, call.output_index, listed.name, call.arguments,
                                                 None):
            yield produced

    def failed(self, call: ToolCall, tool: RequestTool, message: str) -> ToolOutcome:
        listed = self._listed(call)
        item = McpCall(id=call.item_id, server_label=self.tool.server_label, name=listed.name,
                       arguments=call.arguments, status="failed",
                       error={"type": "http_error", "code": 500, "message": message})
        return ToolOutcome(item=item, output=f"The tool '{listed.name}' failed: {message}", failed=True)


def _arguments(arguments: str) -> Mapping[str, Any]:
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"the call's arguments are not JSON: {exc.msg}", param="arguments") from None
    if not isinstance(parsed, dict):
        raise InvalidRequestError("the call's arguments must be a JSON object", param="arguments")
    return parsed


def _approval_id(call: ToolCall) -> str:
    """The approval request's id, derived from the call's item id (item() and run() must agree)."""
    return "mcpr_" + call.item_id.split("_", 1)[-1]
