"""What the web search providers share: the web_search tool, the caller's or configured key, the upstream call,
its errors, and the result shape the Responses engine cites from."""

from __future__ import annotations

import html
import json
import re
from typing import Any, ClassVar

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from polystack.apis.errors import (
    InvalidRequestError,
    NotFoundError,
    PolystackError,
    ProviderError,
    QuotaExceededError,
)
from polystack.apis.tool_groups.types import URL, ListToolDefsResponse, ToolDef
from polystack.apis.tool_runtime.types import ToolInvocationResult
from polystack.core.request_context import provider_data
from polystack.core.secrets import scrub
from polystack.providers.utils.http_client import make_http_client
from polystack.providers.utils.upstream import json_body, send

TOOL_NAME = "web_search"
MAX_QUERY_CHARS = 2000


def web_search_tool(description: str = "Search the web for information") -> ToolDef:
    return ToolDef(name=TOOL_NAME, description=description, input_schema={
        "type": "object",
        "properties": {"query": {"type": "string", "description": "The query to search for"}},
        "required": ["query"],
    })


class WebSearchConfig(BaseModel):
    """Shared settings; each provider sets its vendor's `base_url`."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = Field(default=None, description=(
        "The vendor's API key; never logged. A caller's key in the X-LlamaStack-Provider-Data header wins."))
    base_url: str = Field(description="The vendor API's base URL (a test points it at a fake).")
    max_results: int = Field(default=3, ge=1, le=20, description="Results asked for and returned per search.")
    timeout_seconds: float = Field(default=30, gt=0, description="Read timeout of one search.")


class SearchHit(BaseModel):
    title: str
    url: str
    content: str
    score: float | None = None


class WebSearchProvider:
    """The web_search tool on one vendor's API; subclasses say how to ask (`search_request`) and read (`hits`)."""

    vendor: ClassVar[str]
    key_field: ClassVar[str]  # the key's name in the caller's provider data
    provider_data: ClassVar[type[BaseModel]]
    description: ClassVar[str] = "Search the web for information"
    provider_id: str = "web-search"  # the resolver sets the configured id

    def __init__(self, config: WebSearchConfig) -> None:
        self.config = config
        self.client = make_http_client(timeout=httpx.Timeout(config.timeout_seconds, connect=10.0), max_connections=64)

    async def list_runtime_tools(self, tool_group_id: str | None = None,
                                 mcp_endpoint: URL | None = None) -> ListToolDefsResponse:
        return ListToolDefsResponse(data=[web_search_tool(self.description)])

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any]) -> ToolInvocationResult:
        if tool_name != TOOL_NAME:
            raise NotFoundError(f"Provider '{self.provider_id}' has no tool '{tool_name}' (only {TOOL_NAME})",
                                param="tool_name")
        query = _query(kwargs)
        request = self.search_request(query, self.api_key())
        response = await send(self.client, request, provider_id=self.provider_id, base_url=self.config.base_url,
                              on_status=self.status_error)
        body = json_body(response, self.provider_id)
        try:
            hits = self.hits(body)
        except (KeyError, TypeError, AttributeError, ValueError):
            raise ProviderError(self.provider_id, f"{self.vendor} answered with a body of another shape") from None
        return search_result(query, hits[: self.config.max_results])

    async def shutdown(self) -> None:
        await self.client.aclose()

    # ---- what each vendor says ------------------------------------------------------------------------

    def search_request(self, query: str, api_key: str) -> httpx.Request:
        raise NotImplementedError

    def hits(self, body: Any) -> list[SearchHit]:
        raise NotImplementedError

    def is_auth_failure(self, status: int, body: Any) -> bool:
        return status in (401, 403)

    # ---- shared -----------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def api_key(self) -> str:
        """The caller's key (provider data) if it sent one, else the configured one; a 400 naming both if neither."""
        data = provider_data(self.provider_data)
        sent = getattr(data, self.key_field, None) if data is not None else None
        for key in (sent, self.config.api_key):
            value = key.get_secret_value() if isinstance(key, SecretStr) else key
            if value:
                return str(value)
        raise InvalidRequestError(
            f"Provider '{self.provider_id}' ({self.vendor}) has no API key: set 'api_key' in its config or send "
            f'{{"{self.key_field}": "..."}} in the X-LlamaStack-Provider-Data header',
            param="X-LlamaStack-Provider-Data")

    def status_error(self, provider_id: str, status: int, content: bytes) -> PolystackError:
        """The error for an upstream status; never the upstream's words on a failed key (they may quote it)."""
        try:
            body: Any = orjson.loads(content)
        except ValueError:
            body = None
        if self.is_auth_failure(status, body):
            return ProviderError(provider_id, f"{self.vendor} refused the API key (HTTP {status}); check 'api_key' "
                                 f"in the provider's config or '{self.key_field}' in the provider data")
        message = upstream_message(body, content)
        if status in (429, 432, 433):  # Tavily answers 432/433 when a plan's or a key's limit is reached
            return QuotaExceededError(f"Provider '{provider_id}' ({self.vendor}) is rate limiting: {message}")
        if status in (400, 422):
            return InvalidRequestError(f"Provider '{provider_id}' ({self.vendor}) rejected the search: {message}",
                                       param="kwargs.query")
        return ProviderError(provider_id, f"{self.vendor} answered HTTP {status}: {message}",
                             status_code=503 if status == 503 else None)


def _query(kwargs: dict[str, Any]) -> str:
    query = kwargs.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError("web_search needs a non-empty string 'query'", param="kwargs.query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidRequestError(f"The query is longer than {MAX_QUERY_CHARS} characters", param="kwargs.query")
    return query.strip()


def search_result(query: str, hits: list[SearchHit]) -> ToolInvocationResult:
    """Llama Stack's content (`{"query", "top_k": [...]}` as JSON text) and `metadata.results` for citations."""
    top_k = [hit.model_dump(exclude_none=True) for hit in hits]
    return ToolInvocationResult(
        content=json.dumps({"query": query, "top_k": top_k}, ensure_ascii=False),
        metadata={"results": [{"title": hit.title, "url": hit.url, "snippet": hit.content} for hit in hits]},
    )


_TAG = re.compile(r"<[^>]+>")


def plain(text: Any) -> str:
    """Text without the highlighting tags vendors put in snippets (<strong>, <b>) and HTML entities."""
    return html.unescape(_TAG.sub("", str(text or ""))).strip()


def upstream_message(body: Any, content: bytes) -> str:
    """The vendor's error message (Brave: error.detail; Tavily: detail.error; Bing: error.message or
    errors[0].message), masked of every known secret and cut short."""
    candidates: list[Any] = []
    if isinstance(body, dict):
        error, detail, errors = body.get("error"), body.get("detail"), body.get("errors")
        if isinstance(error, dict):
            candidates += [error.get("detail"), error.get("message")]
        if isinstance(detail, dict):
            candidates.append(detail.get("error"))
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            candidates.append(errors[0].get("message"))
        candidates += [detail, error, body.get("message")]
    text = next((c for c in candidates if isinstance(c, str) and c.strip()), None)
    if text is None:
        text = content[:300].decode(errors="replace") if body is None else "no details"
    return scrub(text.strip()[:500])
