"""Config of inline::offline-classifier: the profanity model's threshold and the keyword rules."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from polystack.providers.inline.safety.offline_common import OfflineShieldConfig


class OfflineClassifierConfig(OfflineShieldConfig):
    """alt-profanity-check's bundled model (a linear SVM on word n-grams, shipped in its wheel), plus rules."""

    threshold: float = Field(
        default=0.95, gt=0, le=1,
        description="A text whose offensive-language probability reaches this is flagged as harassment. 0.95 "
        "gave the best accuracy and F1 on the labelled table of tests/unit/providers/safety (see docs/safety.md); "
        "at 0.5 everyday phrases such as 'I hate Mondays' are flagged.",
    )
    rules: bool = Field(
        default=True,
        description="Also apply the hand-written keyword rules (threats, self-harm, weapon-making, hate about a "
        "named group); they are "
        "regular expressions, not a model.",
    )

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {"threshold": 0.95}
