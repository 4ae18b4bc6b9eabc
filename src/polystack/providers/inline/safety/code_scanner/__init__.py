"""inline::code-scanner: Bandit on Python code blocks and a documented regex rule set for other languages."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from polystack.providers.inline.safety.code_scanner.config import CodeScannerConfig

if TYPE_CHECKING:
    from polystack.core.impls import ProviderDeps


async def create(config: CodeScannerConfig, deps: ProviderDeps) -> Any:
    """Bandit's plugins load in a thread (about 0.2 s) so startup never blocks the event loop."""
    from polystack.providers.inline.safety.code_scanner.bandit_scan import BanditScanner
    from polystack.providers.inline.safety.code_scanner.provider import CodeScannerShield
    from polystack.providers.inline.safety.code_scanner.scanner import CodeScanner

    bandit = await asyncio.to_thread(BanditScanner) if config.bandit else None
    return CodeScannerShield(config, CodeScanner(bandit))
