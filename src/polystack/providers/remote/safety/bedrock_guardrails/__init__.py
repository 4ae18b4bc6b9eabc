"""remote::bedrock-guardrails: Amazon Bedrock Guardrails' ApplyGuardrail API as a shield."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.safety.bedrock_guardrails.config import BedrockGuardrailsConfig


async def create(config: BedrockGuardrailsConfig, deps: Any) -> Any:
    from polystack.providers.remote.safety.bedrock_guardrails.adapter import BedrockGuardrails

    return BedrockGuardrails(config)
