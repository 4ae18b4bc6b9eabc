"""The offline judgment of one text: the bundled profanity model's probability, then the keyword rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from polystack.providers.inline.safety.offline_classifier.rules import PROTECTED_GROUPS, matching_rules

# The OpenAI categories this provider scores: the model feeds harassment/hate, the rules the others.
JUDGED: tuple[str, ...] = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "violence",
)


@dataclass
class Judgment:
    offensive: float
    scores: dict[str, float] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)


class ProfanityModel:
    """alt-profanity-check's vectorizer and model, loaded from its wheel (about 1 s, so once, off the loop)."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            # A scikit-learn other than the one the model was pickled with only warns; the pin avoids it.
            warnings.simplefilter("ignore", UserWarning)
            from profanity_check import profanity_check

        self._vectorizer: Any = profanity_check.vectorizer
        self._model: Any = profanity_check.model

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return [float(row[1]) for row in self._model.predict_proba(self._vectorizer.transform(list(texts)))]


def judge(model: ProfanityModel, texts: Sequence[str], *, threshold: float, rules: bool) -> list[Judgment]:
    judgments = []
    for text, offensive in zip(texts, model.probabilities(texts), strict=True):
        judgment = Judgment(offensive=offensive)
        judgment.scores["harassment"] = offensive
        if offensive >= threshold:
            judgment.flagged.add("harassment")
            if PROTECTED_GROUPS.search(text):
                judgment.flagged.add("hate")
                judgment.scores["hate"] = offensive
        if rules:
            for rule in matching_rules(text):
                judgment.rules.append(rule.name)
                judgment.flagged.update(rule.categories)
                judgment.scores.update({category: 1.0 for category in rule.categories})
        if "hate" in judgment.flagged and "violence" in judgment.flagged:
            judgment.flagged.add("hate/threatening")
            judgment.scores["hate/threatening"] = 1.0
        judgments.append(judgment)
    return judgments
