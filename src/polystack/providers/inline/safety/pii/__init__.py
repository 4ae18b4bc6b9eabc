"""inline::pii: regex and checksum rules for personal data and secrets, flagging or redacting them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.safety.pii.config import PiiConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: PiiConfig, deps: ProviderDeps) -> Any:
    from polystack.providers.inline.safety.pii.detectors import find
    from polystack.providers.inline.safety.pii.provider import PiiShield

    find("warm up +1 650 253 0000", phone_region=config.phone_region)  # loads phonenumbers' metadata once
    return PiiShield(config)
