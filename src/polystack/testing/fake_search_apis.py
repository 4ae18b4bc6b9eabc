"""Fakes of the Brave, Tavily and Bing web search APIs: real local HTTP servers for tests, written from each
vendor's public API documentation (endpoints, auth headers, parameters, response and error bodies).

Each fake runs a threaded HTTP server on 127.0.0.1 (usable from the test's event loop and from a server in
another process), accepts one key (`api_key`), records every request it reads (`requests`), and answers
with the vendor's error shapes on command (`fail_next(status, retry_after=...)`). Results are made up from
the query, so tests can check what reached the vendor and what came back.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from polystack.testing.loopback_server import Answer, LoopbackJsonServer

JSON = dict[str, Any]


@dataclass
class SeenRequest:
    """One request as the fake read it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: JSON | None


@dataclass
class Reply:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    times: int


def pages_for(query: str, count: int) -> list[JSON]:
    """`count` made-up web pages about `query`: title, url, snippet and a decreasing relevance."""
    slug = quote(query.lower().replace(" ", "-"), safe="-")
    return [{"title": f"{query} - source {n}", "url": f"https://example.org/{slug}/{n}",
             "snippet": f"What source {n} says about {query}.", "score": round(0.9 - n * 0.1, 3)}
            for n in range(1, count + 1)]


class FakeSearchAPI(LoopbackJsonServer):
    """The server and its controls; each vendor's subclass answers as that vendor documents."""

    vendor = "search"

    def __init__(self, api_key: str = "fake-search-key-0123456789", *, echo_key_in_errors: bool = False) -> None:
        super().__init__()
        self.api_key = api_key
        self.echo_key_in_errors = echo_key_in_errors  # as some upstreams do: our errors must still not show it
        self.requests: list[SeenRequest] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()

    # ---- controls ---------------------------------------------------------------------------------

    def fail_next(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        """Answer the next `times` requests with the vendor's error for `status` (and this Retry-After)."""
        with self._lock:
            self._failures.append(_Failure(status, retry_after, times))

    # ---- serving ----------------------------------------------------------------------------------

    def reply(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        seen = SeenRequest(method, parts.path, dict(parse_qsl(parts.query)), headers, payload)
        with self._lock:
            self.requests.append(seen)
            failure = self._failures[0] if self._failures else None
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.pop(0)
        answer = self.error(failure.status, seen) if failure else self.answer(seen)
        if failure is not None and failure.retry_after is not None:
            answer.headers["Retry-After"] = failure.retry_after
        return answer.status, answer.body, answer.headers

    def key_of(self, request: SeenRequest) -> str | None:
        raise NotImplementedError

    def answer(self, request: SeenRequest) -> Reply:
        raise NotImplementedError

    def error(self, status: int, request: SeenRequest) -> Reply:
        raise NotImplementedError

    def echoed(self, message: str, request: SeenRequest) -> str:
        return f"{message} (key: {self.key_of(request)})" if self.echo_key_in_errors else message


def _count(value: str | None, default: int, maximum: int) -> int:
    try:
        return max(1, min(int(value) if value is not None else default, maximum))
    except ValueError:
        return default


class FakeBraveSearch(FakeSearchAPI):
    """Brave Search API: GET /res/v1/web/search?q=&count= (max 20), key in X-Subscription-Token; errors are
    `{"type": "ErrorResponse", "error": {"id", "status", "code", "detail", "meta"}, "time"}`, a wrong token a
    422 SUBSCRIPTION_TOKEN_INVALID, a rate limit a 429 RATE_LIMITED with X-RateLimit-* headers."""

    vendor = "brave"
    path_prefix = "/res/v1"

    def key_of(self, request: SeenRequest) -> str | None:
        return request.headers.get("x-subscription-token")

    def _error(self, status: int, code: str, detail: str, request: SeenRequest, **meta: Any) -> Reply:
        return Reply(status, {"type": "ErrorResponse", "error": {
            "id": str(uuid.uuid4()), "status": status, "code": code, "detail": self.echoed(detail, request),
            "meta": meta}, "time": int(time.time())})

    def error(self, status: int, request: SeenRequest) -> Reply:
        if status == 429:
            reply = self._error(429, "RATE_LIMITED", "Request rate limit exceeded for plan.", request,
                                plan="Free", rate_limit=1, rate_current=2, quota_limit=2000, quota_current=17)
            reply.headers.update({"X-RateLimit-Limit": "1, 2000", "X-RateLimit-Remaining": "0, 1983",
                                  "X-RateLimit-Reset": "1, 1419704"})
            return reply
        if status in (401, 422):
            return self._error(status, "SUBSCRIPTION_TOKEN_INVALID", "The provided subscription token is invalid.",
                               request)
        return self._error(status, "UNKNOWN_ERROR", "An unexpected error occurred.", request)

    def answer(self, request: SeenRequest) -> Reply:
        if request.method != "GET" or request.path != "/res/v1/web/search":
            return self._error(404, "RESOURCE_NOT_FOUND", "Resource not found.", request)
        if self.key_of(request) != self.api_key:
            return self.error(422, request)
        query = request.query.get("q", "")
        if not query:
            return self._error(422, "VALIDATION", "Unable to validate request parameter(s)", request,
                               errors=[{"loc": ["query", "q"], "msg": "Field required", "type": "missing"}])
        decorated = request.query.get("text_decorations", "true").lower() not in ("false", "0")
        pages = pages_for(query, _count(request.query.get("count"), 20, 20))
        results = [{
            "title": page["title"], "url": page["url"], "is_source_local": False, "is_source_both": False,
            "description": page["snippet"].replace(query, f"<strong>{query}</strong>") if decorated
            else page["snippet"],
            "page_age": "2026-11-02T08:15:00", "age": "November 2, 2026", "language": "en", "family_friendly": True,
            "type": "search_result", "subtype": "generic", "is_live": False,
            "profile": {"name": "Example", "url": page["url"], "long_name": "example.org",
                        "img": "https://imgs.search.brave.com/fake.png"},
            "meta_url": {"scheme": "https", "netloc": "example.org", "hostname": "example.org",
                         "favicon": "https://imgs.search.brave.com/fake-favicon.png",
                         "path": urlsplit(page["url"]).path},
            "extra_snippets": [f"More on {query}."],
        } for page in pages]
        return Reply(200, {
            "type": "search",
            "query": {"original": query, "show_strict_warning": False, "is_navigational": False,
                      "is_news_breaking": False, "spellcheck_off": True, "country": "us", "bad_results": False,
                      "should_fallback": False, "postal_code": "", "city": "", "header_country": "",
                      "more_results_available": True, "state": ""},
            "mixed": {"type": "mixed", "main": [{"type": "web", "index": i, "all": False} for i in range(len(results))],
                      "top": [], "side": []},
            "web": {"type": "search", "results": results, "family_friendly": True},
        })


class FakeTavilySearch(FakeSearchAPI):
    """Tavily Search API: POST /search with JSON {query, max_results (default 5, max 20), search_depth, ...},
    the key as `Authorization: Bearer tvly-...` (or, in older clients, `api_key` in the body); errors are
    `{"detail": {"error": "..."}}` (401 bad key, 429 rate limit, 432/433 plan limits)."""

    vendor = "tavily"

    def __init__(self, api_key: str = "tvly-fake-0123456789abcdef", **kwargs: Any) -> None:
        super().__init__(api_key, **kwargs)

    def key_of(self, request: SeenRequest) -> str | None:
        bearer = request.headers.get("authorization", "")
        if bearer.startswith("Bearer "):
            return bearer.removeprefix("Bearer ")
        key = (request.body or {}).get("api_key")
        return key if isinstance(key, str) else None

    def _error(self, status: int, message: str, request: SeenRequest) -> Reply:
        return Reply(status, {"detail": {"error": self.echoed(message, request)}})

    def error(self, status: int, request: SeenRequest) -> Reply:
        messages = {
            401: "Unauthorized: missing or invalid API key.",
            429: "Your request has been blocked due to excessive requests. Please reduce rate of requests.",
            432: "This request exceeds your plan's set usage limit. Please upgrade your plan or contact "
                 "support@tavily.com",
        }
        return self._error(status, messages.get(status, "Internal Server Error"), request)

    def answer(self, request: SeenRequest) -> Reply:
        if request.method != "POST" or request.path != "/search":
            return Reply(404, {"detail": "Not Found"})
        if self.key_of(request) != self.api_key:
            return self.error(401, request)
        body = request.body or {}
        query = body.get("query")
        if not isinstance(query, str) or not query:
            return self._error(400, "Query is missing.", request)
        count = _count(str(body["max_results"]) if "max_results" in body else None, 5, 20)
        return Reply(200, {
            "query": query, "follow_up_questions": None, "answer": None, "images": [],
            "results": [{"title": page["title"], "url": page["url"], "content": page["snippet"],
                         "score": page["score"], "raw_content": None} for page in pages_for(query, count)],
            "response_time": "0.92", "request_id": str(uuid.uuid4()),
        })


class FakeBingSearch(FakeSearchAPI):
    """Bing Web Search API v7: GET /v7.0/search?q=&count= (default 10, max 50), key in
    Ocp-Apim-Subscription-Key; a bad key is the gateway's 401 `{"error": {"code", "message"}}`, a bad parameter
    an `ErrorResponse` with `errors`, a rate limit a 429 with Retry-After."""

    vendor = "bing"
    path_prefix = "/v7.0"

    def __init__(self, api_key: str = "0123456789abcdef0123456789abcdef", **kwargs: Any) -> None:
        super().__init__(api_key, **kwargs)

    def key_of(self, request: SeenRequest) -> str | None:
        return request.headers.get("ocp-apim-subscription-key")

    def error(self, status: int, request: SeenRequest) -> Reply:
        if status == 401:
            message = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                       "valid key for an active subscription and use a correct regional API endpoint for your "
                       "resource.")
        elif status == 429:
            message = "Rate limit is exceeded. Try again in 1 seconds."
        else:
            return Reply(status, {"_type": "ErrorResponse", "errors": [
                {"code": "ServerError", "subCode": "UnexpectedError",
                 "message": self.echoed("An unexpected error occurred.", request)}]})
        return Reply(status, {"error": {"code": str(status), "message": self.echoed(message, request)}})

    def answer(self, request: SeenRequest) -> Reply:
        if request.method != "GET" or request.path != "/v7.0/search":
            return Reply(404, {"error": {"code": "404", "message": "Resource not found"}})
        if self.key_of(request) != self.api_key:
            return self.error(401, request)
        query = request.query.get("q", "")
        if not query:
            return Reply(400, {"_type": "ErrorResponse", "errors": [
                {"code": "InvalidRequest", "subCode": "ParameterMissing", "message": "Required parameter is missing.",
                 "parameter": "q"}]})
        pages = pages_for(query, _count(request.query.get("count"), 10, 50))
        return Reply(200, {
            "_type": "SearchResponse",
            "queryContext": {"originalQuery": query},
            "webPages": {
                "webSearchUrl": f"https://www.bing.com/search?q={quote(query)}",
                "totalEstimatedMatches": 1250000,
                "value": [{"id": f"https://api.bing.microsoft.com/api/v7/#WebPages.{i}", "name": page["title"],
                           "url": page["url"], "isFamilyFriendly": True,
                           "displayUrl": page["url"].removeprefix("https://"), "snippet": page["snippet"],
                           "dateLastCrawled": "2026-11-30T04:12:00.0000000Z", "language": "en",
                           "isNavigational": False} for i, page in enumerate(pages)],
            },
            "rankingResponse": {"mainline": {"items": [
                {"answerType": "WebPages", "resultIndex": i,
                 "value": {"id": f"https://api.bing.microsoft.com/api/v7/#WebPages.{i}"}} for i in range(len(pages))]}},
        })
