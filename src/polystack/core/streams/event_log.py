"""An event log per job on a KV store: numbered appends, reads after a sequence number, and following.

Layout in the store (give the log its own namespace, e.g. NamespacedKVStore(kv, "stream_events")):
`job/<job_id>` marks a job's stream as created, and once finished records its last sequence number;
`event/<job_id>/<seq, 12 digits>` holds one event, so a range read returns events in order.

One producer writes a job's log at a time (the job runner's guarantee): sequence numbers are assigned in
this process, continuing after whatever the store already holds, so a producer restarted on another
replica carries on the numbering. Followers in this process are woken by each append; followers on other
replicas poll every `poll_interval` seconds. `finish` is written after the last event, so a follower that
sees it has every event up to its number in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from pydantic import BaseModel

from polystack.apis.events import StreamEvent
from polystack.core.storage.kv.api import KVStore
from polystack.core.storage.kv.keys import prefix_end

_DIGITS = 12
POLL_INTERVAL_SECONDS = 0.5


class UnknownStreamError(LookupError):
    """No stream was created for this job id (or it expired)."""


def check_job_id(job_id: str) -> None:
    """Non-empty, without "/" (a key separator here) or NUL (no backend stores it)."""
    if not job_id or "/" in job_id or "\x00" in job_id:
        raise ValueError(f"A stream job id must be non-empty, without '/' or NUL: {job_id!r}")


def _job_key(job_id: str) -> str:
    return f"job/{job_id}"


def _event_key(job_id: str, sequence_number: int) -> str:
    return f"event/{job_id}/{sequence_number:0{_DIGITS}d}"


class EventLog:
    """The events of every job's stream, in one KV store; see the module docstring for the guarantees."""

    def __init__(self, store: KVStore, *, ttl_seconds: float | None = None,
                 poll_interval: float = POLL_INTERVAL_SECONDS) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self.poll_interval = poll_interval
        self._next: dict[str, int] = {}  # the next sequence number of each job this process writes
        self._locks: dict[str, asyncio.Lock] = {}
        self._wakeups: dict[str, asyncio.Event] = {}  # set (and replaced) on each append, for local followers
        self._followers: dict[str, int] = {}

    async def create(self, job_id: str) -> None:
        """Open a job's stream: followers may subscribe from now on, before its first event."""
        check_job_id(job_id)
        if await self._store.get(_job_key(job_id)) is None:
            await self._store.set(_job_key(job_id), orjson.dumps({"last": None}).decode(), self._ttl)

    async def append(self, job_id: str, name: str, data: dict[str, Any] | BaseModel | None = None) -> StreamEvent:
        """Store the job's next event and wake its followers; returns it with its sequence number."""
        check_job_id(job_id)
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data or {})
        async with self._lock(job_id):
            number = self._next.get(job_id)
            if number is None:
                number = await self._last_stored(job_id) + 1
            event = StreamEvent(name, payload, number)
            stored = orjson.dumps({"seq": number, "name": name, "data": payload}).decode()
            await self._store.set(_event_key(job_id, number), stored, self._ttl)
            self._next[job_id] = number + 1
        self._wake(job_id)
        return event

    async def finish(self, job_id: str) -> None:
        """No more events for this job: followers end after its last one."""
        check_job_id(job_id)
        async with self._lock(job_id):
            last = await self._last_stored(job_id)
            await self._store.set(_job_key(job_id), orjson.dumps({"last": last, "finished": True}).decode(),
                                  self._ttl)
            self._next.pop(job_id, None)
        self._locks.pop(job_id, None)
        self._wake(job_id)

    async def read_after(self, job_id: str, after: int) -> list[StreamEvent]:
        """The stored events numbered above `after` (-1 for all), in order."""
        check_job_id(job_id)
        prefix = f"event/{job_id}/"
        end = prefix_end(prefix)
        assert end is not None  # a prefix ending in "/" always has a successor
        values = await self._store.values_in_range(_event_key(job_id, after + 1), end)
        return [_decode(value) for value in values]

    async def is_finished(self, job_id: str) -> bool:
        """Whether the job's stream ended; UnknownStreamError when it was never created."""
        return bool((await self._state(job_id)).get("finished", False))

    async def follow(self, job_id: str, after: int = -1) -> AsyncIterator[StreamEvent]:
        """Events after `after`, then live ones as they are appended, until the stream is finished."""
        check_job_id(job_id)
        cursor = after
        self._followers[job_id] = self._followers.get(job_id, 0) + 1
        try:
            while True:
                woken = self._wakeups.setdefault(job_id, asyncio.Event())  # before reading: no wake-up is lost
                state = await self._state(job_id)
                for event in await self.read_after(job_id, cursor):
                    cursor = event.sequence_number  # type: ignore[assignment]
                    yield event
                last = state.get("last")
                if state.get("finished") and (last is None or cursor >= last):
                    return
                try:
                    await asyncio.wait_for(woken.wait(), self.poll_interval)
                except TimeoutError:
                    pass
        finally:
            self._followers[job_id] -= 1
            if not self._followers[job_id]:  # the last local follower: forget the job's wake-up
                del self._followers[job_id]
                self._wakeups.pop(job_id, None)

    async def _state(self, job_id: str) -> dict[str, Any]:
        raw = await self._store.get(_job_key(job_id))
        if raw is None:
            raise UnknownStreamError(job_id)
        state: dict[str, Any] = orjson.loads(raw)
        return state

    async def _last_stored(self, job_id: str) -> int:
        keys = await self._store.keys_with_prefix(f"event/{job_id}/")
        return int(keys[-1].rsplit("/", 1)[1]) if keys else -1

    def _lock(self, job_id: str) -> asyncio.Lock:
        return self._locks.setdefault(job_id, asyncio.Lock())

    def _wake(self, job_id: str) -> None:
        woken = self._wakeups.pop(job_id, None)
        if woken is not None:
            woken.set()


def _decode(value: str) -> StreamEvent:
    stored = orjson.loads(value)
    return StreamEvent(stored["name"], stored["data"], stored["seq"])
