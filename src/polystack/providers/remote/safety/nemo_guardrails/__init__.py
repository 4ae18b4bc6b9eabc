"""remote::nvidia-nemo-guardrails: an NVIDIA NeMo Guardrails server's checks endpoint as a shield."""

from __future__ import annotations

from typing import Any

from polystack.providers.remote.safety.nemo_guardrails.config import NeMoGuardrailsConfig


async def create(config: NeMoGuardrailsConfig, deps: Any) -> Any:
    from polystack.providers.remote.safety.nemo_guardrails.adapter import NeMoGuardrails

    return NeMoGuardrails(config)
