"""inline::llama-guard: Llama Guard 3's prompt run on a chat model the inference API serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.safety.llama_guard.config import LlamaGuardConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: LlamaGuardConfig, deps: ProviderDeps) -> Any:
    from polystack.apis.datatypes import Api
    from polystack.apis.inference.protocol import Inference
    from polystack.providers.inline.safety.llama_guard.provider import LlamaGuard

    return LlamaGuard(config, deps.require(Api.inference, Inference))
