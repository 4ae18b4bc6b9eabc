"""What a safety provider implements; the safety router resolves shields and calls these."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from polystack.apis.safety.types import ModerationResult, RunShieldResponse, Shield


@runtime_checkable
class SafetyProvider(Protocol):
    async def register_shield(self, shield: Shield) -> None:
        """Check that this provider can serve `shield` (e.g. its guard model exists); raise a 4xx otherwise."""
        ...

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        """Judge a conversation (OpenAI chat messages as JSON dicts); a violation, or none."""
        ...

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        """Judge each text on its own, with OpenAI's category names (types.OPENAI_CATEGORIES)."""
        ...
