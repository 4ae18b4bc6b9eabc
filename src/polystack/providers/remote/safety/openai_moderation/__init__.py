"""remote::openai-moderation: OpenAI's moderations endpoint (or a compatible server) as a shield."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.safety.openai_moderation.config import OpenAIModerationConfig


async def create(config: OpenAIModerationConfig, deps: Any) -> Any:
    from polystack.providers.remote.safety.openai_moderation.adapter import OpenAIModeration

    return OpenAIModeration(config)
