"""What the access log reports about the request in flight: its id, the model it asked for, the shields run."""

from __future__ import annotations

from contextvars import ContextVar, Token


class RequestLog:
    """Mutable on purpose: code deeper in the request (even in child tasks) fills in what it learns."""

    __slots__ = ("request_id", "model", "shields", "cache", "cache_control")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.model: str | None = None
        self.shields: list[str] | None = None  # "shield_id:verdict" of each shield call, in order
        self.cache: str | None = None  # the response cache's verdict: hit, miss or bypass (x-polystack-cache)
        self.cache_control: str | None = None  # the caller's Cache-Control header, read by the response cache


_current: ContextVar[RequestLog | None] = ContextVar("request_log", default=None)


def begin(request_id: str) -> tuple[RequestLog, Token[RequestLog | None]]:
    entry = RequestLog(request_id)
    return entry, _current.set(entry)


def end(token: Token[RequestLog | None]) -> None:
    _current.reset(token)


def current() -> RequestLog | None:
    return _current.get()


def note_model(model: str) -> None:
    """Record the model a request asked for (the first one: later internal calls do not relabel it)."""
    entry = _current.get()
    if entry is not None and entry.model is None:
        entry.model = model


def note_shield(shield_id: str, verdict: str) -> None:
    """Record one shield call of the request (the safety API's run-shield, moderations and guardrails)."""
    entry = _current.get()
    if entry is not None:
        if entry.shields is None:
            entry.shields = []
        entry.shields.append(f"{shield_id}:{verdict}")


def note_cache(result: str) -> None:
    """Record the response cache's verdict on the request (its x-polystack-cache header)."""
    entry = _current.get()
    if entry is not None:
        entry.cache = result
