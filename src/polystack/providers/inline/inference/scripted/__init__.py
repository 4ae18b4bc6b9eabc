"""inline::scripted: plays back scripted replies (or echoes); for tests that need exact outputs."""

from __future__ import annotations

from typing import Any

from polystack.providers.inline.inference.scripted.config import ScriptedConfig


async def create(config: ScriptedConfig, deps: dict[Any, Any]) -> Any:
    from polystack.providers.inline.inference.scripted.provider import ScriptedInference

    return ScriptedInference(config)
