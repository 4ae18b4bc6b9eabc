"""OpenAIModeration: POST {base_url}/moderations with the shield's model; OpenAI's categories as they are."""

from __future__ import annotations

from typing import Any

from polystack.apis.errors import AuthenticationError
from polystack.apis.safety.errors import ShieldUnavailableError
from polystack.apis.safety.types import OPENAI_CATEGORIES, ModerationResult, RunShieldResponse, Shield
from polystack.providers.remote.safety._http import last_text, post_json, violation_of
from polystack.providers.remote.safety.openai_moderation.config import (
    OpenAIModerationConfig,
    OpenAIModerationProviderData,
)
from polystack.providers.utils.http_client import make_http_client
from polystack.providers.utils.upstream import caller_or_configured_key


class OpenAIModeration:
    def __init__(self, config: OpenAIModerationConfig) -> None:
        self.config = config
        self.client = make_http_client(timeout=config.timeout_seconds)

    async def register_shield(self, shield: Shield) -> None:
        return None  # any model name: the service says whether it knows it

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        key = caller_or_configured_key(self.config.api_key, OpenAIModerationProviderData, "openai_api_key")
        if key is None:
            raise AuthenticationError(f"shield '{shield.identifier}' has no OpenAI API key: set api_key in the "
                                      "provider's config or send openai_api_key in the provider data")
        body = await post_json(self.client, f"{self.config.base_url.rstrip('/')}/moderations",
                               {"model": shield.provider_resource_id, "input": inputs},
                               provider_id=shield.provider_id, headers={"authorization": f"Bearer {key}"})
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(inputs):
            raise ShieldUnavailableError(shield.identifier, shield.provider_id, "the moderation service answered "
                                         "no result per input")
        return [_result(item) for item in results]

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        text, _ = last_text(messages)
        if not text:
            return RunShieldResponse()
        [result] = await self.run_moderation(shield, [text])
        if not result.flagged:
            return RunShieldResponse()
        flagged = [name for name, on in result.categories.items() if on]
        return violation_of(flagged, {"category_scores": result.category_scores})

    async def shutdown(self) -> None:
        await self.client.aclose()


def _result(item: dict[str, Any]) -> ModerationResult:
    categories = item.get("categories") or {}
    scores = item.get("category_scores") or {}
    applied = item.get("category_applied_input_types") or {}
    return ModerationResult(
        flagged=bool(item.get("flagged")),
        categories={name: bool(categories.get(name, False)) for name in OPENAI_CATEGORIES},
        category_scores={name: float(scores.get(name, 0.0)) for name in OPENAI_CATEGORIES},
        category_applied_input_types={name: list(applied.get(name, ["text"])) for name in OPENAI_CATEGORIES})
