"""inline::code-scanner: Bandit on Python code blocks and a documented regex rule set for other languages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polystack.providers.inline.safety.code_scanner.config import CodeScannerConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: CodeScannerConfig, deps: ProviderDeps) -> Any:
    """Bandit's plugins (a few tenths of a second) load after the server is ready or on first use, not here."""
    from polystack.providers.inline.safety.code_scanner.bandit_scan import BanditScanner
    from polystack.providers.inline.safety.code_scanner.provider import CodeScannerShield
    from polystack.providers.inline.safety.code_scanner.scanner import CodeScanner
    from polystack.providers.utils.background_load import BackgroundLoad, check_installed

    if config.bandit:
        check_installed("bandit")

    def load() -> CodeScanner:
        return CodeScanner(BanditScanner() if config.bandit else None)

    return CodeScannerShield(config, BackgroundLoad(load, "Bandit's plugins"))
