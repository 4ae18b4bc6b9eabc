"""inline::scripted: plays back scripted replies (or echoes); for tests that need exact outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.inference.scripted.config import ScriptedConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: ScriptedConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.inline.inference.scripted.provider import ScriptedInference

    return ScriptedInference(config)
