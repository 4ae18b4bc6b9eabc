"""Running a model's server-tool calls one after another, or together with their events interleaved."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from polystack.apis.events import StreamEvent
from polystack.core.responses.tools import ToolCall, ToolOutcome

Runs = list[tuple[ToolCall, AsyncIterator[StreamEvent | ToolOutcome]]]

_DONE: Any = object()


async def sequential(runs: Runs) -> AsyncIterator[tuple[ToolCall, StreamEvent | ToolOutcome]]:
    for call, produced in runs:
        async for one in produced:
            yield call, one


async def merged(runs: Runs) -> AsyncIterator[tuple[ToolCall, StreamEvent | ToolOutcome]]:
    """The calls run concurrently; their events interleave as they happen (each keeps its own order)."""
    queue: asyncio.Queue[tuple[ToolCall, Any]] = asyncio.Queue()

    async def pump(call: ToolCall, produced: AsyncIterator[StreamEvent | ToolOutcome]) -> None:
        try:
            async for one in produced:
                await queue.put((call, one))
        finally:
            await queue.put((call, _DONE))

    tasks = [asyncio.create_task(pump(call, produced)) for call, produced in runs]
    try:
        running = len(tasks)
        while running:
            call, one = await queue.get()
            if one is _DONE:
                running -= 1
            else:
                yield call, one
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
