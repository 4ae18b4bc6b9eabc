"""Safety provider specs: one ProviderSpec per provider type, in a flat list (easy to extend)."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.registry.safety_offline import OFFLINE_SAFETY_PROVIDERS
from polystack.providers.spec import ProviderSpec

_INLINE = "polystack.providers.inline.safety"
_REMOTE = "polystack.providers.remote.safety"


def available_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            api=Api.safety,
            provider_type="inline::llama-guard",
            module=f"{_INLINE}.llama_guard",
            config_class=f"{_INLINE}.llama_guard.config.LlamaGuardConfig",
            description="Llama Guard 3's prompt (hazards S1-S14) on any chat model the inference API serves; "
                        "the shield's provider_shield_id names the guard model.",
            api_dependencies=(Api.inference,),
        ),
        ProviderSpec(
            api=Api.safety,
            provider_type="remote::openai-moderation",
            module=f"{_REMOTE}.openai_moderation",
            config_class=f"{_REMOTE}.openai_moderation.config.OpenAIModerationConfig",
            description="OpenAI's /v1/moderations (or a compatible server); provider_shield_id is the "
                        "moderation model, e.g. omni-moderation-latest.",
            provider_data_validator=f"{_REMOTE}.openai_moderation.config.OpenAIModerationProviderData",
        ),
        ProviderSpec(
            api=Api.safety,
            provider_type="remote::bedrock-guardrails",
            module=f"{_REMOTE}.bedrock_guardrails",
            config_class=f"{_REMOTE}.bedrock_guardrails.config.BedrockGuardrailsConfig",
            description="Amazon Bedrock Guardrails' ApplyGuardrail API (SigV4-signed); provider_shield_id is "
                        "the guardrail id, params.guardrail_version its version (default DRAFT).",
        ),
        ProviderSpec(
            api=Api.safety,
            provider_type="remote::nvidia-nemo-guardrails",
            module=f"{_REMOTE}.nemo_guardrails",
            config_class=f"{_REMOTE}.nemo_guardrails.config.NeMoGuardrailsConfig",
            description="An NVIDIA NeMo Guardrails server's /v1/guardrail/checks; provider_shield_id is the "
                        "model the rails check with.",
        ),
        *OFFLINE_SAFETY_PROVIDERS,
    ]
