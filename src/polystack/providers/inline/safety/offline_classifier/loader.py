"""The profanity model, loaded once, off the event loop, when first needed or once the server is ready.

Importing scikit-learn for it costs 1-2 s of CPU; paid at start-up it delayed `starter`'s ready by that
much. The server starts the load in the background after it is ready (`warm_up_after_ready`), and a
moderation that comes first awaits the same load instead of starting another.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable

from polystack.providers.inline.safety.offline_classifier.classifier import ProfanityModel

logger = logging.getLogger(__name__)

# What ProfanityModel imports: checked (not imported) at create, so a missing package still stops start-up.
REQUIRED_MODULES = ("profanity_check", "sklearn", "joblib", "numpy")


def check_installed() -> None:
    """Raise ModuleNotFoundError naming the first missing package, as an eager import would."""
    for name in REQUIRED_MODULES:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)


class ProfanityModelLoader:
    """One load of the model in a worker thread, shared by every caller that awaits it."""

    def __init__(self, load: Callable[[], ProfanityModel] = ProfanityModel) -> None:
        self._load = load
        self._loading: asyncio.Future[ProfanityModel] | None = None

    @property
    def loaded(self) -> bool:
        return self._loading is not None and self._loading.done() and self._loading.exception() is None

    def start(self) -> None:
        """Begin loading in the background (idempotent)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._load))
            self._loading.add_done_callback(self._forget_failure)

    async def get(self) -> ProfanityModel:
        self.start()
        assert self._loading is not None
        # shield: a caller that gives up (client gone) must not cancel the load others wait for
        return await asyncio.shield(self._loading)

    def _forget_failure(self, loading: asyncio.Future[ProfanityModel]) -> None:
        """A failed load is raised to its waiters and retried by the next caller, never cached."""
        if loading.cancelled() or loading.exception() is not None:
            if not loading.cancelled():
                logger.warning("loading the offline moderation model failed: %s", loading.exception())
            if self._loading is loading:
                self._loading = None

    def cancel(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()  # the thread finishes its import; nobody waits for it
