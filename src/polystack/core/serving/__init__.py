"""How the stack builds the object serving each API: the context a spec's `serve` factory receives.

An ApiSpec (apis/catalog.py) may name `serve`, a dotted `async def serve(context, providers) -> {api: impl}`:
`providers` maps provider_id -> implementation for that API, and `context` gives the run config, the
storage backends, the resource registry, the APIs already served and a hook for background work to stop.
An API without `serve` is served by its single provider (`single_provider`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from polystack.core.errors import StackError
from polystack.core.impls import Impls

if TYPE_CHECKING:
    from polystack.core.config import RunConfig
    from polystack.core.jobs.runner import JobRunner
    from polystack.core.registry import ResourceRegistry
    from polystack.core.stack import Stack
    from polystack.core.storage.backends import Storage
    from polystack.core.storage.config import SQLStoreReference


@dataclass
class ServeContext:
    """What a serve factory may use; it reads other APIs from `impls`, never from the stack itself."""

    config: RunConfig
    storage: Storage
    registry: ResourceRegistry
    impls: Impls
    stack: Stack  # the Stack, for the built-in APIs that describe it (inspect, providers)
    stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    jobs: JobRunner | None = None  # background work of every API, made by the first API that needs it

    async def job_runner(self, reference: SQLStoreReference, concurrency: int) -> JobRunner:
        """The one job runner of the stack, its jobs table in `reference`'s SQL store. APIs register their job
        kinds on it while they are served; the stack starts it once every API is served, and stops it first."""
        if self.jobs is None:
            from polystack.core.jobs.records import JobRecords
            from polystack.core.jobs.runner import JobRunner

            records = JobRecords(await self.storage.sql(reference))
            await records.migrate()
            self.jobs = JobRunner(records, concurrency=concurrency)
        return self.jobs

    def on_stop(self, stop: Callable[[], Awaitable[None]]) -> None:
        """Run `stop` when the stack stops, before the providers shut down (in reverse order of registration)."""
        self.stoppers.append(stop)


# provider_id -> the provider's implementation, for one API; a serve factory checks it against the API's protocol
Providers = dict[str, object]
Serve = Callable[[ServeContext, Providers], Awaitable[dict[str, object]]]


async def single_provider(api: str, providers: Providers) -> dict[str, object]:
    """The default: an API without a router is served by its one provider."""
    if len(providers) != 1:
        raise StackError(f"API '{api}' takes exactly one provider; {len(providers)} are configured")
    return {api: next(iter(providers.values()))}
