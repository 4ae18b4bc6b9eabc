"""Server-side tools: the interface every tool the server runs itself implements (file_search, web_search, mcp).

The loop (engine.py) offers each tool's functions to the model; when the model calls one, it emits
`output_item.added` with `tool.item(call)`, relays the events `tool.run(...)` yields, and ends with
`output_item.done` of the `ToolOutcome`'s item. The outcome's `output` is what the model reads next. A tool
that raises gets `tool.failed(call, message)` instead: a failed item the model sees, never a crashed response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from polystack.apis.events import StreamEvent
from polystack.apis.responses.items import Item
from polystack.apis.responses.types import CreateResponseRequest, FunctionTool, RequestTool

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


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use: the APIs of the stack (by name) and the request (e.g. its `include`)."""

    impls: Impls
    request: CreateResponseRequest
    response_id: str


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
