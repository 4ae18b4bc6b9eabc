"""inline::offline-classifier: offensive language (alt-profanity-check's bundled model) plus keyword rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.safety.offline_classifier.config import OfflineClassifierConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


# What ProfanityModel imports: checked (not imported) at create, so a missing package still stops start-up.
REQUIRED_MODULES = ("profanity_check", "sklearn", "joblib", "numpy")


async def create(config: OfflineClassifierConfig, deps: ProviderDeps) -> Any:
    """The model (1-2 s of scikit-learn import) loads after the server is ready or on first use, not here."""
    from polystack.providers.inline.safety.offline_classifier.classifier import ProfanityModel
    from polystack.providers.inline.safety.offline_classifier.provider import OfflineClassifierShield
    from polystack.providers.utils.background_load import BackgroundLoad, check_installed

    check_installed(*REQUIRED_MODULES)
    return OfflineClassifierShield(config, BackgroundLoad(ProfanityModel, "the offline moderation model"))
