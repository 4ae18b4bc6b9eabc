"""inline::code-scanner: insecure code in messages (model output, usually) as a shield violation."""

from __future__ import annotations

import asyncio
from typing import Any

from polystack.apis.errors import InvalidRequestError, ServiceUnavailableError
from polystack.apis.safety.types import ModerationResult, RunShieldResponse, Shield
from polystack.providers.inline.safety.code_scanner.config import CodeScannerConfig
from polystack.providers.inline.safety.code_scanner.rules import CATEGORIES
from polystack.providers.inline.safety.code_scanner.scanner import CodeFinding, CodeScanner
from polystack.providers.inline.safety.offline_common import (
    judged_message,
    judged_role,
    moderation_result,
    violation,
)
from polystack.providers.utils.background_load import BackgroundLoad


class CodeScannerShield:
    def __init__(self, config: CodeScannerConfig, scanner: BackgroundLoad[CodeScanner]) -> None:
        self.config = config
        self.scanner = scanner

    async def register_shield(self, shield: Shield) -> None:
        self._scan_unfenced(shield.params, None)

    async def warm_up_after_ready(self) -> None:
        """Load Bandit's plugins once the server answers, so they are ready before most first scans."""
        await self.scanner.get()

    async def shutdown(self) -> None:
        self.scanner.cancel()

    def _scan_unfenced(self, *param_sets: dict[str, Any] | None) -> bool:
        value = self.config.scan_unfenced
        for params in param_sets:
            if params and "scan_unfenced" in params:
                if not isinstance(params["scan_unfenced"], bool):
                    raise InvalidRequestError("params.scan_unfenced must be a boolean.", param="params")
                value = params["scan_unfenced"]
        return value

    async def _scan(self, text: str, scan_unfenced: bool) -> list[CodeFinding]:
        try:
            scanner = await self.scanner.get()
        except Exception as exc:  # noqa: BLE001 - any failure to load is this shield being unavailable
            raise ServiceUnavailableError(f"the code scanner could not load {self.scanner.what}: {exc}") from None
        # Bandit walks a syntax tree in Python: a long answer could take tens of ms, so off the event loop.
        if len(text) > 2_000:
            return await asyncio.to_thread(scanner.scan, text, scan_unfenced=scan_unfenced)
        return scanner.scan(text, scan_unfenced=scan_unfenced)

    async def run_shield(self, shield: Shield, messages: list[dict[str, Any]], params: dict[str, Any]
                         ) -> RunShieldResponse:
        scan_unfenced = self._scan_unfenced(shield.params, params)
        judged = judged_message(messages, judged_role(self.config, shield.params, params))
        if judged is None:
            return RunShieldResponse()
        index, text = judged
        findings = await self._scan(text, scan_unfenced)
        if not findings:
            return RunShieldResponse()
        categories = sorted({finding.category for finding in findings})
        described = ", ".join(CATEGORIES[category] for category in categories)
        return violation(
            self.config, f"The code contains insecure patterns: {described}.", categories,
            message_index=index, findings=[finding.as_dict() for finding in findings],
        )

    async def run_moderation(self, shield: Shield, inputs: list[str]) -> list[ModerationResult]:
        scan_unfenced = self._scan_unfenced(shield.params, None)
        results = []
        for text in inputs:
            findings = await self._scan(text, scan_unfenced)
            # No OpenAI category is about insecure code: all stay false, `flagged` says a finding.
            metadata = {"categories": sorted({f.category for f in findings}),
                        "findings": [f.as_dict() for f in findings]} if findings else {}
            results.append(moderation_result(flagged=bool(findings), metadata=metadata))
        return results
