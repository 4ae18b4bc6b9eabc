"""inline::offline-classifier: offensive language (alt-profanity-check's bundled model) plus keyword rules."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.safety.offline_classifier.config import OfflineClassifierConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: OfflineClassifierConfig, deps: ProviderDeps) -> Any:
    """Load the model in a thread (about 1 s), so startup never blocks the event loop."""
    from polystack.providers.inline.safety.offline_classifier.classifier import ProfanityModel
    from polystack.providers.inline.safety.offline_classifier.provider import OfflineClassifierShield

    return OfflineClassifierShield(config, await asyncio.to_thread(ProfanityModel))
