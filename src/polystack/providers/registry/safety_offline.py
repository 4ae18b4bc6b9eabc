"""Specs of the offline safety providers (no key, no download); joined to providers/registry/safety.py's list."""

from __future__ import annotations

from polystack.apis.datatypes import Api
from polystack.providers.spec import ProviderSpec

_INLINE = "polystack.providers.inline.safety"

OFFLINE_SAFETY_PROVIDERS: list[ProviderSpec] = [
    ProviderSpec(
        api=Api.safety,
        provider_type="inline::offline-classifier",
        module=f"{_INLINE}.offline_classifier",
        config_class=f"{_INLINE}.offline_classifier.config.OfflineClassifierConfig",
        description="Offensive language (alt-profanity-check's bundled model) mapped to harassment/hate, plus "
        "keyword rules for threats, self-harm, weapon-making and hate about a named group; in-process, offline.",
        pip_packages=("alt-profanity-check==1.9.1", "scikit-learn==1.9.1", "joblib==1.6.0"),
        extra="safety",
    ),
    ProviderSpec(
        api=Api.safety,
        provider_type="inline::pii",
        module=f"{_INLINE}.pii",
        config_class=f"{_INLINE}.pii.config.PiiConfig",
        description="E-mail addresses, phone numbers, card numbers (Luhn), IBANs (mod-97), API keys and tokens: "
        "flagged or redacted, with regex and checksum rules.",
        pip_packages=("phonenumbers==9.0.43", "python-stdnum==2.2"),
        extra="safety",
    ),
    ProviderSpec(
        api=Api.safety,
        provider_type="inline::code-scanner",
        module=f"{_INLINE}.code_scanner",
        config_class=f"{_INLINE}.code_scanner.config.CodeScannerConfig",
        description="Insecure code in fenced code blocks: Bandit on Python, a documented regex rule set for other "
        "languages (secrets, shell and SQL injection, unsafe deserialisation, weak crypto, disabled TLS).",
        pip_packages=("bandit==1.9.4",),
        extra="safety",
    ),
]


def available_providers() -> list[ProviderSpec]:
    return list(OFFLINE_SAFETY_PROVIDERS)
