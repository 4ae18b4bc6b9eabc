"""inline::offline-classifier: moderation with no key and no download (profanity model + keyword rules)."""

from __future__ import annotations

import asyncio
from typing import Any

from polystack.apis.errors import InvalidRequestError, ServiceUnavailableError
from polystack.apis.safety.types import ModerationResult, RunShieldResponse, Shield
from polystack.providers.inline.safety.offline_classifier.classifier import JUDGED, ProfanityModel, judge
from polystack.providers.inline.safety.offline_classifier.config import OfflineClassifierConfig
from polystack.providers.inline.safety.offline_common import (
    judged_message,
    judged_role,
    moderation_result,
    violation,
)
from polystack.providers.utils.background_load import BackgroundLoad

_USER_MESSAGES = {
    "harassment": "harassing or offensive language",
    "hate": "hateful language about a group",
    "violence": "threats of violence",
    "self-harm": "self-harm",
    "illicit/violent": "instructions for weapons",
}


class OfflineClassifierShield:
    def __init__(self, config: OfflineClassifierConfig, loader: BackgroundLoad[ProfanityModel]) -> None:
        self.config = config
        self.loader = loader

    async def register_shield(self, shield: Shield) -> None:
        self._threshold(shield.params, None)

    async def warm_up_after_ready(self) -> None:
        """Load the model once the server answers, so it is ready before most first moderations."""
        await self.loader.get()

    async def shutdown(self) -> None:
        self.loader.cancel()

    async def _model(self) -> ProfanityModel:
        try:
            return await self.loader.get()
        except Exception as exc:  # noqa: BLE001 - any failure to load is this shield being unavailable
            raise ServiceUnavailableError(f"the offline moderation model could not be loaded: {exc}") from None

    def _threshold(self, *param_sets: dict[str, Any] | None) -> float:
        threshold = self.config.threshold
        for params in param_sets:
            if params and "threshold" in params:
                value = params["threshold"]
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                    raise InvalidRequestError("params.threshold must be a number in (0, 1].", param="params")
                threshold = float(value)
        return threshold

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        threshold = self._threshold(shield.params, params)
        judged = judged_message(messages, judged_role(self.config, shield.params, params))
        if judged is None or not judged[1].strip():
            return RunShieldResponse()
        index, text = judged
        rules, model = self.config.rules, await self._model()
        if len(text) > 4_000:  # ~1 ms per 3 KB: only long texts are worth a thread hop
            [judgment] = await asyncio.to_thread(judge, model, [text], threshold=threshold, rules=rules)
        else:
            [judgment] = judge(model, [text], threshold=threshold, rules=rules)
        if not judgment.flagged:
            return RunShieldResponse()
        found = [phrase for category, phrase in _USER_MESSAGES.items() if category in judgment.flagged]
        return violation(
            self.config, f"The message was flagged for {', '.join(found) or 'unsafe content'}.", judgment.flagged,
            message_index=index, offensive_score=round(judgment.offensive, 4), rules=judgment.rules,
        )

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        threshold, model = self._threshold(shield.params, None), await self._model()
        if sum(len(text) for text in inputs) > 4_000:
            judgments = await asyncio.to_thread(judge, model, inputs, threshold=threshold, rules=self.config.rules)
        else:
            judgments = judge(model, inputs, threshold=threshold, rules=self.config.rules)
        return [
            moderation_result(judgment.scores, judgment.flagged, judged=JUDGED,
                              metadata={"rules": judgment.rules} if judgment.rules else {})
            for judgment in judgments
        ]
