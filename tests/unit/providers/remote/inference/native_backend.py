"""A fake upstream for the native (non-OpenAI) adapters: httpx.MockTransport serving hand-written cassettes.

The cassettes under cassettes/<provider>/ are written by hand from each vendor's public API docs, not
recorded. Each holds the OpenAI request a test sends (`openai_request`) and, in order, the upstream
`interactions`: what the adapter must send (`request`: method, path, optional query, headers, body)
and what the fake server answers (`response`: status, headers, and `json`, `text` or `sse_lines`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

CASSETTES = Path(__file__).parent / "cassettes"


def load_cassette(provider: str, name: str) -> dict[str, Any]:
    return json.loads((CASSETTES / provider / f"{name}.json").read_text())  # type: ignore[no-any-return]


class CassetteBackend:
    """Answers each request with the cassette's next response and keeps what it received."""

    def __init__(self, cassette: dict[str, Any]) -> None:
        self.interactions: list[dict[str, Any]] = cassette["interactions"]
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) > len(self.interactions):
            return httpx.Response(599, text="the cassette has no response for this request")
        answer = self.interactions[len(self.requests) - 1]["response"]
        headers = answer.get("headers", {})
        if "json" in answer:
            content = json.dumps(answer["json"]).encode()
            return httpx.Response(answer["status"], headers=headers, content=content)
        if "sse_lines" in answer:
            body = answer.get("line_ending", "\n").join(answer["sse_lines"])
            return httpx.Response(answer["status"], headers=headers, content=body.encode())
        return httpx.Response(answer["status"], headers=headers, content=answer.get("text", "").encode())

    def assert_requests_match(self) -> None:
        """Every interaction was requested, each as the cassette expects."""
        assert len(self.requests) == len(self.interactions), f"sent {len(self.requests)} requests"
        for sent, interaction in zip(self.requests, self.interactions, strict=True):
            expected = interaction["request"]
            assert sent.method == expected["method"]
            assert sent.url.path == expected["path"]
            if "query" in expected:
                assert dict(sent.url.params) == expected["query"]
            for name, value in expected.get("headers", {}).items():
                assert sent.headers.get(name) == value, name
            if "body" in expected:
                assert json.loads(sent.content) == expected["body"]

    def sent_json(self, index: int = 0) -> Any:
        return json.loads(self.requests[index].content)


def failing_client(exc: Exception) -> httpx.AsyncClient:
    """A client whose every request fails in the transport (connection refused, timeout...)."""

    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))
