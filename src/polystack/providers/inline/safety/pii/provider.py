"""inline::pii: flags (or redacts) e-mail addresses, phone numbers, card numbers, IBANs, API keys and tokens."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from polystack.apis.errors import InvalidRequestError
from polystack.apis.safety.types import ModerationResult, RunShieldResponse, Shield
from polystack.providers.inline.safety.offline_common import (
    judged_message,
    judged_role,
    moderation_result,
    violation,
)
from polystack.providers.inline.safety.pii import detectors
from polystack.providers.inline.safety.pii.config import PiiConfig


class PiiShield:
    """Findings are named by kind and counted; their values never appear in a verdict (only, in `redact` mode,
    the text with them replaced)."""

    def __init__(self, config: PiiConfig) -> None:
        self.config = config

    async def register_shield(self, shield: Shield) -> None:
        self._settings(shield.params, None)

    async def shutdown(self) -> None:
        return None

    def _settings(self, *param_sets: dict[str, Any] | None) -> tuple[str, list[str]]:
        """(mode, kinds) for a call: a shield's params and a call's params may narrow them."""
        mode, kinds = self.config.mode, self.config.kinds
        for params in param_sets:
            if not params:
                continue
            if "mode" in params:
                if params["mode"] not in ("flag", "redact"):
                    raise InvalidRequestError("params.mode must be 'flag' or 'redact'.", param="params")
                mode = params["mode"]
            if "kinds" in params:
                asked = params["kinds"]
                if not isinstance(asked, list) or not set(asked).issubset(detectors.KINDS):
                    raise InvalidRequestError(
                        f"params.kinds must be a list of: {', '.join(detectors.KINDS)}.", param="params"
                    )
                kinds = asked
        return mode, kinds

    def scan(self, text: str, kinds: list[str]) -> list[detectors.Finding]:
        return detectors.find(text, kinds, phone_region=self.config.phone_region)

    def _report(self, text: str, findings: list[detectors.Finding], mode: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "categories": sorted({finding.category for finding in findings}),
            "counts": dict(Counter(finding.kind for finding in findings)),
        }
        if mode == "redact":
            metadata["redacted_text"] = detectors.redact(text, findings)
        return metadata

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        mode, kinds = self._settings(shield.params, params)
        judged = judged_message(messages, judged_role(self.config, shield.params, params))
        if judged is None:
            return RunShieldResponse()
        index, text = judged
        # A few KB scan in about a millisecond; longer texts (up to ~0.2 s for 40 KB of digits) leave the loop.
        findings = await asyncio.to_thread(self.scan, text, kinds) if len(text) > 4_000 else self.scan(text, kinds)
        if not findings:
            return RunShieldResponse()
        metadata = self._report(text, findings, mode)
        names = ", ".join(kind.replace("_", " ") for kind in metadata["counts"])
        then = "; metadata.redacted_text has the message without it" if mode == "redact" else ""
        return violation(
            self.config, f"The message contains personal data or a secret ({names}){then}.",
            metadata.pop("categories"),
            message_index=index, mode=mode, **metadata,
        )

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        mode, kinds = self._settings(shield.params, None)
        results = []
        for text in inputs:
            findings = await asyncio.to_thread(self.scan, text, kinds) if len(text) > 4_000 else self.scan(text, kinds)
            # No OpenAI category covers personal data or secrets: all stay false, `flagged` says a finding.
            results.append(moderation_result(
                flagged=bool(findings), metadata=self._report(text, findings, mode) if findings else {},
            ))
        return results
