"""What the access log reports about the request in flight: its id and the model it asked for."""

from __future__ import annotations

from contextvars import ContextVar, Token


class RequestLog:
    """Mutable on purpose: code deeper in the request (even in child tasks) fills in what it learns."""

    __slots__ = ("request_id", "model")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.model: str | None = None


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
