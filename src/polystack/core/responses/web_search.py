"""web_search (and web_search_preview): the model's web search, through the `web_search` tool of the tool
runtime's `builtin::websearch` group (Brave, Tavily or Bing); the answer cites the pages it used
(url_citation annotations, web_search_citations.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError, NotFoundError, PolystackError
from polystack.apis.events import StreamEvent
from polystack.apis.responses.items import Item, WebSearchAction, WebSearchCall, WebSearchSource
from polystack.apis.responses.types import FunctionTool, RequestTool, WebSearchTool
from polystack.apis.tool_runtime.protocol import ToolRuntime
from polystack.core.responses.events import call_progress
from polystack.core.responses.tools import Source, ToolCall, ToolContext, ToolOutcome

GROUP = "builtin::websearch"
TOOL = "web_search"
SOURCES_INCLUDE = "web_search_call.action.sources"
# search_context_size: how many of the provider's pages the model reads (and the answer may cite)
PAGES_FOR_CONTEXT = {"low": 2, "medium": 5, "high": 20}
_PARAMETERS = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to search the web for."}},
    "required": ["query"],
}


def _query(arguments: str) -> str:
    try:
        parsed: Any = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"the web_search arguments are not JSON: {exc.msg}") from None
    query = parsed.get("query") if isinstance(parsed, dict) else None
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError("the web_search call has no query")
    return query.strip()


class WebSearch:
    """Offers one `web_search` function; each call is one search through the tool runtime."""

    name = "web_search"

    def matches(self, tool: RequestTool) -> bool:
        return isinstance(tool, WebSearchTool)

    async def functions(self, tool: RequestTool, context: ToolContext) -> list[FunctionTool]:
        assert isinstance(tool, WebSearchTool)
        param = f"tools[{context.request.tools.index(tool)}]"
        for field in ("filters", "user_location"):
            if getattr(tool, field) is not None:
                raise InvalidRequestError(f"the web search providers of this server do not support '{field}'",
                                          param=f"{param}.{field}")
        runtime = context.impls.get_as(Api.tool_runtime, ToolRuntime)
        offered: list[str] = []
        if runtime is not None:
            try:
                offered = [t.name for t in (await runtime.list_runtime_tools(tool_group_id=GROUP)).data]
            except NotFoundError:
                offered = []
        if TOOL not in offered:
            raise InvalidRequestError(f"the '{tool.type}' tool needs a web search provider: this server has no "
                                      f"'{TOOL}' tool in the '{GROUP}' tool group", param=f"{param}.type")
        return [FunctionTool(name=TOOL, parameters=_PARAMETERS,
                             description="Search the web; returns the title, url and a snippet of the top pages.")]

    def item(self, call: ToolCall, tool: RequestTool) -> Item:
        try:
            query = _query(call.arguments)
        except InvalidRequestError:
            query = ""
        return WebSearchCall(id=call.item_id, status="in_progress", action=WebSearchAction(query=query))

    async def run(self, call: ToolCall, tool: RequestTool, context: ToolContext
                  ) -> AsyncIterator[StreamEvent | ToolOutcome]:
        yield call_progress("response.web_search_call.in_progress", call.item_id, call.output_index)
        query = _query(call.arguments)
        yield call_progress("response.web_search_call.searching", call.item_id, call.output_index)
        runtime = context.impls.get_as(Api.tool_runtime, ToolRuntime)
        assert runtime is not None  # functions() checked it
        result = await runtime.invoke_tool(tool_name=TOOL, kwargs={"query": query})
        if result.error_message:
            raise PolystackError(result.error_message)
        pages = [page for page in (result.metadata or {}).get("results") or []
                 if isinstance(page, dict) and isinstance(page.get("url"), str)]
        assert isinstance(tool, WebSearchTool)
        pages = pages[:PAGES_FOR_CONTEXT[tool.search_context_size or "medium"]]
        yield call_progress("response.web_search_call.completed", call.item_id, call.output_index)
        shown = [WebSearchSource(url=page["url"]) for page in pages] if SOURCES_INCLUDE in context.request.include \
            else None
        yield ToolOutcome(
            item=WebSearchCall(id=call.item_id, status="completed", action=WebSearchAction(query=query, sources=shown)),
            output=_for_the_model(pages),
            sources=[Source(text=str(page.get("snippet") or ""), url=page["url"], title=page.get("title"))
                     for page in pages],
        )

    def failed(self, call: ToolCall, tool: RequestTool, message: str) -> ToolOutcome:
        item = self.item(call, tool)
        assert isinstance(item, WebSearchCall)
        return ToolOutcome(item=item.model_copy(update={"status": "failed"}),
                           output=f"The web search failed: {message}", failed=True)


def _for_the_model(pages: list[dict[str, Any]]) -> str:
    if not pages:
        return "The web search found nothing."
    blocks = [f"[{n}] {page.get('title') or page['url']}\nURL: {page['url']}\n{page.get('snippet') or ''}"
              for n, page in enumerate(pages, 1)]
    return "Web search results:\n\n" + "\n\n".join(blocks)
