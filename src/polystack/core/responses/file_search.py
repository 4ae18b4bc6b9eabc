"""file_search: the model's search over the request's vector stores, through the vector_io router."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from polystack.apis.datatypes import Api
from polystack.apis.errors import InvalidRequestError
from polystack.apis.events import StreamEvent
from polystack.apis.responses.items import FileSearchCall, FileSearchResult, Item
from polystack.apis.responses.types import FileSearchTool, FunctionTool, RequestTool
from polystack.apis.vector_io.types import RankingOptions, SearchRequest, SearchResultsPage, WeightedRanker
from polystack.core.responses.events import call_progress
from polystack.core.responses.tools import Source, ToolCall, ToolContext, ToolOutcome

DEFAULT_MAX_RESULTS = 10
RESULTS_INCLUDE = "file_search_call.results"
_PARAMETERS = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to search the documents for."}},
    "required": ["query"],
}


@runtime_checkable
class VectorStoreSearch(Protocol):
    async def search_vector_store(self, vector_store_id: str, request: SearchRequest) -> SearchResultsPage: ...


def _queries(arguments: str) -> list[str]:
    """The model's queries: {"query": "..."} (what we offer) or {"queries": [...]} (what OpenAI's models send)."""
    try:
        parsed: Any = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"the file_search arguments are not JSON: {exc.msg}") from None
    if not isinstance(parsed, dict):
        raise InvalidRequestError("the file_search arguments must be a JSON object")
    queries = parsed.get("queries") or [parsed.get("query")]
    queries = [q for q in queries if isinstance(q, str) and q.strip()]
    if not queries:
        raise InvalidRequestError("the file_search call has no query")
    return queries


class FileSearch:
    """Searches every vector store of the tool, keeps the best `max_num_results` hits across them."""

    name = "file_search"

    def matches(self, tool: RequestTool) -> bool:
        return isinstance(tool, FileSearchTool)

    async def functions(self, tool: RequestTool, context: ToolContext) -> list[FunctionTool]:
        if context.impls.get_as(Api.vector_io, VectorStoreSearch) is None:
            raise InvalidRequestError("the file_search tool needs the vector_io API, which this server does not "
                                      "serve", param="tools")
        return [FunctionTool(name="file_search", parameters=_PARAMETERS,
                             description="Search the user's uploaded documents; returns the most relevant passages.")]

    def item(self, call: ToolCall, tool: RequestTool) -> Item:
        try:
            queries = _queries(call.arguments)
        except InvalidRequestError:
            queries = []
        return FileSearchCall(id=call.item_id, queries=queries, status="in_progress")

    async def run(self, call: ToolCall, tool: RequestTool, context: ToolContext
                  ) -> AsyncIterator[StreamEvent | ToolOutcome]:
        assert isinstance(tool, FileSearchTool)
        yield call_progress("response.file_search_call.in_progress", call.item_id, call.output_index)
        queries = _queries(call.arguments)
        yield call_progress("response.file_search_call.searching", call.item_id, call.output_index)
        search = context.impls.get_as(Api.vector_io, VectorStoreSearch)
        assert search is not None  # functions() checked it
        limit = tool.max_num_results or DEFAULT_MAX_RESULTS
        request = SearchRequest.model_validate({
            "query": queries, "max_num_results": limit, "filters": tool.filters, **_ranking(tool)})
        hits = [hit for store_id in tool.vector_store_ids
                for hit in (await search.search_vector_store(store_id, request)).data]
        hits.sort(key=lambda hit: hit.score, reverse=True)
        results = [FileSearchResult(file_id=hit.file_id, filename=hit.filename, score=hit.score,
                                    text="".join(part.text for part in hit.content),
                                    attributes=hit.attributes)
                   for hit in hits[:limit]]
        yield call_progress("response.file_search_call.completed", call.item_id, call.output_index)
        shown = results if RESULTS_INCLUDE in context.request.include else None
        yield ToolOutcome(
            item=FileSearchCall(id=call.item_id, queries=queries, status="completed", results=shown),
            output=_for_the_model(results),
            sources=[Source(text=r.text, file_id=r.file_id, filename=r.filename) for r in results if r.file_id],
        )

    def failed(self, call: ToolCall, tool: RequestTool, message: str) -> ToolOutcome:
        item = self.item(call, tool)
        assert isinstance(item, FileSearchCall)
        return ToolOutcome(item=item.model_copy(update={"status": "failed"}),
                           output=f"The file search failed: {message}", failed=True)


def _ranking(tool: FileSearchTool) -> dict[str, Any]:
    """OpenAI's ranking options as the vector_io search takes them (hybrid_search: a weighted hybrid search)."""
    options = tool.ranking_options
    if options is None:
        return {}
    hybrid = options.hybrid_search
    if hybrid is None:
        return {"ranking_options": RankingOptions(ranker=options.ranker, score_threshold=options.score_threshold)}
    alpha = hybrid.embedding_weight / (hybrid.embedding_weight + hybrid.text_weight)
    return {"search_mode": "hybrid", "ranking_options": RankingOptions(
        ranker=WeightedRanker(alpha=alpha), score_threshold=options.score_threshold)}


def _for_the_model(results: list[FileSearchResult]) -> str:
    if not results:
        return "No matching passages were found in the documents."
    blocks = [f"[{n}] {r.filename or r.file_id} (score {r.score:.3f}):\n{r.text}" for n, r in enumerate(results, 1)]
    return "Passages found in the documents:\n\n" + "\n\n".join(blocks)
