"""LlamaGuard: judges the last message of a conversation with Llama Guard's prompt on a served chat model."""

from __future__ import annotations

import asyncio
from typing import Any

from polystack.apis.errors import InvalidRequestError, PolystackError, ProviderTimeoutError
from polystack.apis.inference.protocol import Inference
from polystack.apis.inference.results import ChatCompletion
from polystack.apis.inference.types import ChatCompletionRequest
from polystack.apis.safety.errors import ShieldUnavailableError
from polystack.apis.safety.types import (
    OPENAI_CATEGORIES,
    ModerationResult,
    RunShieldResponse,
    SafetyViolation,
    Shield,
    ViolationLevel,
)
from polystack.providers.inline.safety.llama_guard.config import LlamaGuardConfig
from polystack.providers.inline.safety.llama_guard.prompt import UnreadableVerdict, build_prompt, parse_verdict
from polystack.providers.inline.safety.llama_guard.taxonomy import HAZARDS, TO_OPENAI

REFUSAL = "I can't help with that: it goes against this server's safety policy."


class LlamaGuard:
    def __init__(self, config: LlamaGuardConfig, inference: Inference) -> None:
        self.config = config
        self.inference = inference

    async def register_shield(self, shield: Shield) -> None:
        """The guard model must be one the inference API serves."""
        table = getattr(self.inference, "table", None)
        if table is not None:
            try:
                await table.resolve(shield.provider_resource_id)
            except PolystackError:
                raise InvalidRequestError(
                    f"shield '{shield.identifier}': the guard model '{shield.provider_resource_id}' is not served "
                    "here (provider_shield_id names a chat model, see GET /v1/models)",
                    param="provider_shield_id") from None
        self._excluded(shield)

    def _excluded(self, shield: Shield) -> set[str]:
        extra = (shield.params or {}).get("excluded_categories", [])
        if not isinstance(extra, list) or any(str(code).upper() not in HAZARDS for code in extra):
            raise InvalidRequestError("params.excluded_categories must list hazard codes S1-S14", param="params")
        return {*self.config.excluded_categories, *(str(code).upper() for code in extra)}

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        excluded = self._excluded(shield)
        answer = await self._ask(shield, build_prompt(messages, excluded))
        try:
            codes = parse_verdict(answer)
        except UnreadableVerdict as exc:
            raise ShieldUnavailableError(shield.identifier, shield.provider_id, str(exc)) from None
        if codes is None:
            return RunShieldResponse()
        kept = [code for code in codes if code not in excluded]
        if codes and not kept:
            return RunShieldResponse()
        return RunShieldResponse(violation=SafetyViolation(
            violation_level=ViolationLevel.error, user_message=REFUSAL,
            metadata={"violation_type": ",".join(kept), "categories": kept,
                      "category_names": [HAZARDS[code][0] for code in kept]}))

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        verdicts = await asyncio.gather(*(self.run_shield(shield, [{"role": "user", "content": text}], {})
                                          for text in inputs))
        return [_moderation(verdict.violation) for verdict in verdicts]

    async def _ask(self, shield: Shield, prompt: str) -> str:
        request = ChatCompletionRequest(
            model=shield.provider_resource_id, messages=[{"role": "user", "content": prompt}],  # type: ignore[list-item]
            temperature=0, max_tokens=self.config.max_tokens, stream=False, store=False)
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                result = await self.inference.chat_completion(request)
        except TimeoutError:
            raise ProviderTimeoutError(shield.provider_id, f"the guard model took over "
                                       f"{self.config.timeout_seconds:g} s") from None
        if not isinstance(result, ChatCompletion) or not result.choices:
            return ""  # read as an unreadable verdict: a 502 naming the shield
        return result.choices[0].message.content or ""


def _moderation(violation: SafetyViolation | None) -> ModerationResult:
    codes: list[str] = violation.metadata.get("categories", []) if violation is not None else []
    flagged_categories = {category for code in codes for category in TO_OPENAI.get(code, ())}
    return ModerationResult(
        flagged=violation is not None,
        categories={name: name in flagged_categories for name in OPENAI_CATEGORIES},
        category_scores={name: 1.0 if name in flagged_categories else 0.0 for name in OPENAI_CATEGORIES},
        category_applied_input_types={name: ["text"] for name in OPENAI_CATEGORIES},
        user_message=violation.user_message if violation is not None else None,
        metadata={"llama_guard_categories": codes} if codes else {})
