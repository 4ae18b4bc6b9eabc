"""Serves safety: the shields table over the safety providers, the safety router, and guardrails on inference."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.apis.safety.protocol import SafetyProvider
from polystack.core.impls import all_as
from polystack.core.routing.guardrails import GuardrailsHook
from polystack.core.routing.inference import InferenceRouter
from polystack.core.routing.safety import SafetyRouter
from polystack.core.routing.shields import ShieldsRoutingTable
from polystack.core.serving import Providers, ServeContext


async def serve(context: ServeContext, providers: Providers) -> dict[str, object]:
    config = context.config
    table = ShieldsRoutingTable(all_as(providers, SafetyProvider, Api.safety), context.registry,
                                cache_seconds=config.models.registry_cache_seconds)
    await table.start_with(config.registered_resources.shields)
    context.on_stop(table.stop)
    settings = config.safety
    router = SafetyRouter(table, default_moderation_shield=settings.default_moderation_shield,
                          fail_open=settings.fail_open)
    inference = context.impls.get(Api.inference)
    if isinstance(inference, InferenceRouter):  # first in the chain: hooks configured later meter the guards too
        inference.hooks.add(GuardrailsHook(router, settings))
    return {Api.shields: table, Api.safety: router}
