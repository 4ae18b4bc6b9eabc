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
    """alt-profanity-check's vectorizer and model, loaded from its wheel (about 1 s, so once, off the loop).

    The model is a TF-IDF of words into five sigmoid-calibrated linear SVMs (CalibratedClassifierCV).
    scikit-learn's predict_proba spends ~10 ms per call validating its inputs, which a guardrail would add to
    every request; `FastLinearProfanity` computes the same numbers from the fitted weights in ~0.1 ms. When
    the package ships a model of another shape, scikit-learn's own path is used.
    """

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            # A scikit-learn other than the one the model was pickled with only warns; the pin avoids it.
            warnings.simplefilter("ignore", UserWarning)
            from profanity_check import profanity_check

        self.vectorizer: Any = profanity_check.vectorizer
        self.model: Any = profanity_check.model
        self.fast = FastLinearProfanity.from_sklearn(self.vectorizer, self.model)

    def sklearn_probabilities(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return [float(row[1]) for row in self.model.predict_proba(self.vectorizer.transform(list(texts)))]

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        if self.fast is None:
            return self.sklearn_probabilities(texts)
        return [self.fast.probability(text) for text in texts]


class FastLinearProfanity:
    """predict_proba of a CalibratedClassifierCV(sigmoid) of linear models over a TfidfVectorizer, by hand."""

    def __init__(self, analyzer: Any, vocabulary: dict[str, int], idf: Any, weights: Any, intercepts: Any,
                 slopes: Any, offsets: Any) -> None:
        self.analyzer, self.vocabulary = analyzer, vocabulary
        self.idf = idf  # (features,)
        self.weights = weights  # (features, models): each linear model's coefficients
        self.intercepts, self.slopes, self.offsets = intercepts, slopes, offsets  # (models,) each

    @classmethod
    def from_sklearn(cls, vectorizer: Any, model: Any) -> FastLinearProfanity | None:
        """None unless the model has exactly the shape this class reproduces."""
        import numpy as np

        try:
            params = vectorizer.get_params()
            calibrated = model.calibrated_classifiers_
            supported = (
                type(vectorizer).__name__ == "TfidfVectorizer" and params["norm"] == "l2" and params["use_idf"]
                and not params["sublinear_tf"] and not params["binary"]
                and type(model).__name__ == "CalibratedClassifierCV" and model.method == "sigmoid"
                and list(model.classes_) == [0, 1]
                and all(len(c.calibrators) == 1 and hasattr(c.estimator, "coef_") for c in calibrated)
            )
            if not supported:
                return None
            return cls(
                vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), np.asarray(vectorizer.idf_),
                np.stack([np.asarray(c.estimator.coef_).ravel() for c in calibrated], axis=1),
                np.array([float(np.ravel(c.estimator.intercept_)[0]) for c in calibrated]),
                np.array([float(c.calibrators[0].a_) for c in calibrated]),
                np.array([float(c.calibrators[0].b_) for c in calibrated]),
            )
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None

    def probability(self, text: str) -> float:
        import numpy as np

        counts: dict[int, int] = {}
        for token in self.analyzer(text):
            index = self.vocabulary.get(token)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        decisions = self.intercepts
        if counts:
            indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tfidf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts)) * self.idf[indices]
            tfidf /= np.sqrt(np.dot(tfidf, tfidf))
            decisions = tfidf @ self.weights[indices] + self.intercepts
        # Each calibrated model: sigmoid(-(a*d + b)); the ensemble averages them (as predict_proba does).
        return float(np.mean(1.0 / (1.0 + np.exp(self.slopes * decisions + self.offsets))))


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
