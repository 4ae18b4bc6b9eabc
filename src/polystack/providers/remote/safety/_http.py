"""What the remote safety adapters share: one JSON POST, any failure a ProviderError naming the provider."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from polystack.apis.errors import PolystackError, ProviderError
from polystack.apis.safety.types import OPENAI_CATEGORIES, ModerationResult, RunShieldResponse, SafetyViolation
from polystack.providers.utils.openai_compat.errors import upstream_message
from polystack.providers.utils.upstream import json_body, send

REFUSAL = "I can't help with that: it goes against this server's safety policy."


def _status_error(provider_id: str, status: int, content: bytes) -> PolystackError:
    """Every error status of a guard service is the guard failing (a 502 naming the shield upstream)."""
    if status in (401, 403):  # the upstream message may echo part of the key: not passed on
        return ProviderError(provider_id, f"the guard service refused our credentials (HTTP {status})")
    return ProviderError(provider_id, f"the guard service answered HTTP {status}: {upstream_message(content)}")


async def post_json(client: httpx.AsyncClient, url: str, body: Any, *, provider_id: str,
                    headers: dict[str, str] | None = None, sign: Any = None) -> Any:
    """POST `body` as JSON and return the JSON answer; `sign(request)` adds signature headers if given."""
    request = client.build_request("POST", url, content=orjson.dumps(body),
                                   headers={"content-type": "application/json", **(headers or {})})
    if sign is not None:
        sign(request)
    response = await send(client, request, provider_id=provider_id, base_url=url, on_status=_status_error)
    return json_body(response, provider_id)


def last_text(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The text of the last message and its role (text parts joined; other parts are not judged)."""
    message = messages[-1] if messages else {}
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return (content if isinstance(content, str) else ""), str(message.get("role", "user"))


def violation_of(flagged: list[str], metadata: dict[str, Any], user_message: str | None = None
                 ) -> RunShieldResponse:
    return RunShieldResponse(violation=SafetyViolation(
        violation_level="error", user_message=user_message or REFUSAL,  # type: ignore[arg-type]
        metadata={"categories": flagged, **metadata}))


def moderation(flagged_categories: set[str], *, flagged: bool, metadata: dict[str, Any] | None = None,
               scores: dict[str, float] | None = None) -> ModerationResult:
    return ModerationResult(
        flagged=flagged,
        categories={name: name in flagged_categories for name in OPENAI_CATEGORIES},
        category_scores={name: (scores or {}).get(name, 1.0 if name in flagged_categories else 0.0)
                         for name in OPENAI_CATEGORIES},
        category_applied_input_types={name: ["text"] for name in OPENAI_CATEGORIES},
        metadata=metadata or {})
