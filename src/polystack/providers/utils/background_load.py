"""A provider's heavy object, loaded once in a worker thread when first needed or once the server is ready.

Importing scikit-learn for the offline moderation model costs 1-2 s of CPU, Bandit's plugins a few tenths:
paid at start-up they delayed `starter`'s ready by that much. The server starts such loads in the
background after it is ready (a provider's `warm_up_after_ready`), and a request that comes first awaits
the same load instead of starting another.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def check_installed(*modules: str) -> None:
    """Raise ModuleNotFoundError naming the first missing module, as an eager import would, without importing:
    a provider whose load is deferred still stops start-up with the extra to install."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)


class BackgroundLoad(Generic[T]):
    """One call of `load` in a worker thread, shared by every caller that awaits it."""

    def __init__(self, load: Callable[[], T], what: str) -> None:
        self._load = load
        self.what = what
        self._loading: asyncio.Future[T] | None = None

    @property
    def loaded(self) -> bool:
        return self._loading is not None and self._loading.done() and not self._loading.cancelled() and (
            self._loading.exception() is None)

    def start(self) -> None:
        """Begin loading in the background (idempotent)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._load))
            self._loading.add_done_callback(self._forget_failure)

    async def get(self) -> T:
        self.start()
        assert self._loading is not None
        # shield: a caller that gives up (client gone) must not cancel the load others wait for
        return await asyncio.shield(self._loading)

    def _forget_failure(self, loading: asyncio.Future[T]) -> None:
        """A failed load is raised to its waiters and retried by the next caller, never cached."""
        if loading.cancelled() or loading.exception() is not None:
            if not loading.cancelled():
                logger.warning("loading %s failed: %s", self.what, loading.exception())
            if self._loading is loading:
                self._loading = None

    def cancel(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()  # the thread finishes its import; nobody waits for it
