"""NeMoGuardrails: POST {service}/v1/guardrail/checks as Llama Stack's adapter calls it; status "blocked" is a
violation (rails_status in its metadata)."""

from __future__ import annotations

import asyncio
from typing import Any

from polystack.apis.safety.errors import ShieldUnavailableError
from polystack.apis.safety.types import ModerationResult, RunShieldResponse, Shield
from polystack.providers.remote.safety._http import moderation, post_json, violation_of
from polystack.providers.remote.safety.nemo_guardrails.config import NeMoGuardrailsConfig
from polystack.providers.utils.http_client import make_http_client


class NeMoGuardrails:
    def __init__(self, config: NeMoGuardrailsConfig) -> None:
        self.config = config
        self.client = make_http_client(timeout=config.timeout_seconds)

    async def register_shield(self, shield: Shield) -> None:
        return None

    async def check(self, shield: Shield, messages: list[dict[str, Any]]) -> dict[str, Any]:
        config = self.config
        body = {
            "model": shield.provider_resource_id, "messages": messages, "temperature": config.temperature,
            "top_p": 1, "frequency_penalty": 0, "presence_penalty": 0, "max_tokens": config.max_tokens,
            "stream": False, "guardrails": {"config_id": (shield.params or {}).get("config_id", config.config_id)},
        }
        headers = {"accept": "application/json"}
        if config.api_key is not None:
            headers["authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        answer = await post_json(self.client, f"{config.guardrails_service_url.rstrip('/')}/v1/guardrail/checks",
                                 body, provider_id=shield.provider_id, headers=headers)
        if not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
            raise ShieldUnavailableError(shield.identifier, shield.provider_id, "the checks answer has no status")
        return answer

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        answer = await self.check(shield, messages)
        if answer["status"] != "blocked":
            return RunShieldResponse()
        rails = answer.get("rails_status") or {}
        blocked = [name for name, state in rails.items()
                   if isinstance(state, dict) and state.get("status") == "blocked"]
        return violation_of(blocked, {"rails_status": rails})

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        answers = await asyncio.gather(*(self.check(shield, [{"role": "user", "content": text}]) for text in inputs))
        return [moderation(set(), flagged=answer["status"] == "blocked",
                           metadata={"rails_status": answer.get("rails_status") or {}}) for answer in answers]

    async def shutdown(self) -> None:
        await self.client.aclose()
