"""Server-side tools: the interface every tool the server runs itself implements (file_search, web_search, mcp).

The loop (engine.py) offers each tool's functions to the model; when the model calls one, it emits
`output_item.added` with `tool.item(call)`, relays the events `tool.run(...)` yields, and ends with
`output_item.done` of the `ToolOutcome`'s item. The outcome's `output` is what the model reads next. A tool
that raises gets `tool.failed(call, message)` instead: a failed item the model sees, never a crashed response.

A server tool whose functions are known only once the response runs (mcp: the server's tools are listed with
their own items and events) is a `SessionTool`: the engine calls `prepare(tool, context)` before the first
event (a bad config is a 4xx), runs the session's `begin(run)` after `response.in_progress`, then offers the
session's `functions()`, each bound to the per-response ServerTool that runs it. An outcome with
`awaiting_approval` (an mcp_approval_request) ends the response without answering that call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from polystack.apis.events import StreamEvent
from polystack.apis.responses.items import Item
from polystack.apis.responses.types import CreateResponseRequest, FunctionTool, RequestTool
from polystack.core.responses.chain import EarlierItems

if TYPE_CHECKING:
    from polystack.core.impls import Impls


@dataclass(frozen=True)
class ToolCall:
    """One call the model made: `item_id` and `output_index` are the output item it becomes."""

    call_id: str
    name: str
    arguments: str
    item_id: str
    output_index: int


@dataclass(frozen=True)
class Source:
    """Something an answer may cite: a file (file_citation) or, with `url`, a web page (url_citation)."""

    text: str
    file_id: str | None = None
    filename: str | None = None
    url: str | None = None
    title: str | None = None


@dataclass
class ToolOutcome:
    """What a call produced: its output item, the text the model reads, and the sources an answer may cite."""

    item: Item
    output: str
    sources: list[Source] = field(default_factory=list)
    failed: bool = False
    # The item asks the client to approve the call (mcp_approval_request): the call stays unanswered in the
    # model's context, no tool result is fed back, and the response ends after this round of calls.
    awaiting_approval: bool = False


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use: the APIs of the stack (by name) and the request (e.g. its `include`)."""

    impls: Impls
    request: CreateResponseRequest
    response_id: str
    # The items before this request's input (previous responses read only as far back as a tool looks), and
    # the input's items.
    earlier: EarlierItems = field(default_factory=lambda: EarlierItems(None, None))
    input_items: tuple[Item, ...] = ()


@runtime_checkable
class ServerTool(Protocol):
    """A kind of tool the server runs itself; one instance serves every request."""

    name: str

    def matches(self, tool: RequestTool) -> bool:
        """Whether this server tool runs `tool` (one entry of the request's `tools`)."""
        ...

    async def functions(self, tool: RequestTool, context: ToolContext) -> list[FunctionTool]:
        """The functions the model sees for `tool` (a call to one of them comes back to `run`)."""
        ...

    def item(self, call: ToolCall, tool: RequestTool) -> Item:
        """The in-progress output item announced before the call runs."""
        ...

    def run(self, call: ToolCall, tool: RequestTool, context: ToolContext
            ) -> AsyncIterator[StreamEvent | ToolOutcome]:
        """Run the call: progress events, then exactly one ToolOutcome last."""
        ...

    def failed(self, call: ToolCall, tool: RequestTool, message: str) -> ToolOutcome:
        """The outcome of a call that raised (`message` says why): a failed item and what the model reads."""
        ...


@dataclass(frozen=True)
class Binding:
    """A function the model may call that a server tool runs."""

    server_tool: ServerTool
    tool: RequestTool


class RunOutput(Protocol):
    """What a tool session may change in the running response: its output items and the model's context."""

    def add_item(self, item: Item) -> int: ...

    def replace_item(self, index: int, item: Item) -> None: ...

    def add_tool_call(self, call_id: str, name: str, arguments: str, result: str) -> None:
        """A call and its result, as the model reads them next (e.g. an approved MCP call)."""
        ...


@runtime_checkable
class ToolSession(Protocol):
    """A request tool's state for one response, for server tools whose functions are known only once the
    response runs (mcp: the server's tools are listed after `response.in_progress`, with their own events)."""

    tool: RequestTool

    def begin(self, run: RunOutput) -> AsyncIterator[StreamEvent]:
        """Runs after `response.in_progress`, before the first model call: items, events, context."""
        ...

    def functions(self) -> list[tuple[FunctionTool, ServerTool]]:
        """After `begin`: the functions the model may call, each with the server tool that runs it."""
        ...


@runtime_checkable
class SessionTool(Protocol):
    """A server tool that opens a `ToolSession` per response (checked before the first event: a 4xx raises)."""

    async def prepare(self, tool: RequestTool, context: ToolContext) -> ToolSession: ...
