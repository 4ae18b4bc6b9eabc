"""Config of inline::pii: which kinds of personal data and secrets to find, and whether to flag or redact."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from polystack.providers.inline.safety.offline_common import OfflineShieldConfig
from polystack.providers.inline.safety.pii.detectors import KINDS


class PiiConfig(OfflineShieldConfig):
    """Regex and checksum rules, in-process; nothing is downloaded and nothing leaves the server."""

    mode: Literal["flag", "redact"] = Field(
        default="flag",
        description="`flag`: a violation naming the kinds found (never the values). `redact`: the same, and the "
        "violation's metadata carries the judged text with each finding replaced by a [KIND] placeholder.",
    )
    kinds: list[str] = Field(
        default_factory=lambda: list(KINDS),
        description="The kinds to look for (default all): " + ", ".join(KINDS) + ".",
    )
    phone_region: str = Field(
        default="US", min_length=2, max_length=2,
        description="Region (ISO 3166 alpha-2) of phone numbers written without a +country code.",
    )

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds).difference(KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
        return kinds

    @field_validator("phone_region")
    @classmethod
    def _upper_region(cls, region: str) -> str:
        return region.upper()

    @classmethod
    def sample_config(cls) -> dict[str, Any]:
        return {"mode": "flag"}
