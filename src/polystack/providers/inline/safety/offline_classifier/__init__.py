"""inline::offline-classifier: offensive language (alt-profanity-check's bundled model) plus keyword rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.safety.offline_classifier.config import OfflineClassifierConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: OfflineClassifierConfig, deps: ProviderDeps) -> Any:
    """The model (1-2 s of scikit-learn import) loads after the server is ready or on first use, not here.

    Its packages are checked now, so a missing one still stops start-up with the extra to install."""
    from polystack.providers.inline.safety.offline_classifier.loader import ProfanityModelLoader, check_installed
    from polystack.providers.inline.safety.offline_classifier.provider import OfflineClassifierShield

    check_installed()
    return OfflineClassifierShield(config, ProfanityModelLoader())
