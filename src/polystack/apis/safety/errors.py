"""Errors of the Safety API: a shield that failed to judge is a 502 naming the shield, never a silent pass."""

from __future__ import annotations

from polystack.apis.errors import ProviderError


class ShieldUnavailableError(ProviderError):
    """A shield could not give a verdict (its guard is down, timed out, or answered nonsense)."""

    code = "shield_unavailable"

    def __init__(self, shield_id: str, provider_id: str, detail: str) -> None:
        super().__init__(provider_id, detail)
        self.message = f"Shield '{shield_id}' (provider '{provider_id}') failed: {detail}"
        self.args = (self.message,)
        self.shield_id = shield_id
