"""Structured logging: key=value text by default, JSON lines with POLYSTACK_LOG_FORMAT=json (or
`logging: {format: json}` in the run config). Every line logged during a request carries its
`request_id`, and its `trace_id` and `span_id` when tracing is on (or the caller sent a `traceparent`).

Environment (documented in docs/configuration.md):
  POLYSTACK_LOGGING      per-category levels, e.g. `all=debug` or `server=debug,access=warning`
  LLAMA_STACK_LOGGING    the same in Llama Stack's spelling (`server=debug;core=info`), applied first
  POLYSTACK_LOG_FORMAT   `text` (default) or `json`; overrides the config's `format`
  POLYSTACK_ACCESS_LOG   `false` switches the per-request access log off (default: on, at info)
"""

from __future__ import annotations

import logging
import os
import sys
import time

import orjson

from polystack.core import request_log
from polystack.core.request_context import request_context
from polystack.core.secrets import is_plain_record_factory
from polystack.core.telemetry import tracing

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        extras = " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD)
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += f" {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **{k: v for k, v in record.__dict__.items() if k not in _STANDARD},
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (tests and embedding apps swap it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


_FALSE = ("0", "false", "no", "off")


class _RequestIdFilter(logging.Filter):
    """Tags every line logged while a request is in flight with its id, to correlate it with the access
    log, and with the trace it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        entry = request_log.current()
        if entry is None:
            return True
        if not hasattr(record, "request_id"):
            record.request_id = entry.request_id
        if not hasattr(record, "trace_id"):
            for name, value in trace_fields():
                setattr(record, name, value)
        return True


def trace_fields() -> tuple[tuple[str, str], ...]:
    """The trace and span id of the code running now, or the caller's traceparent trace id (tracing off)."""
    ids = tracing.current_ids()
    if ids is not None:
        return ("trace_id", ids[0]), ("span_id", ids[1])
    trace_id = request_context().trace_id
    return (("trace_id", trace_id),) if trace_id is not None else ()


def sole_handler() -> logging.Handler | None:
    """The handler setup_logging installed, if a `polystack.*` line reaches it and nothing else (no other
    handler, filter or record factory an embedding application or a test added): then a line may be
    written as that handler would write it, without a LogRecord (core/server/access_line.py)."""
    root = logging.getLogger("polystack")
    handlers = root.handlers
    if len(handlers) != 1 or root.filters or (root.propagate and logging.getLogger().handlers):
        return None
    handler = handlers[0]
    if type(handler) is not _StderrHandler or len(handler.filters) != 1 or handler.level > logging.INFO:
        return None
    if not isinstance(handler.filters[0], _RequestIdFilter) or not is_plain_record_factory():
        return None
    return handler


def _levels_from(variable: str) -> list[tuple[str, str]]:
    """`name=level` items separated by commas or semicolons (Llama Stack uses ';')."""
    raw = os.environ.get(variable, "").replace(";", ",")
    items = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, level = item.partition("=")
        if level.strip():
            items.append((name.strip(), level.strip()))
    return items


def setup_logging(levels: dict[str, str] | None = None) -> None:
    """Configure the `polystack` loggers; POLYSTACK_LOGGING='server=debug,all=info' overrides levels."""
    merged = dict(levels or {})
    configured_format = merged.pop("format", "text")
    log_format = os.environ.get("POLYSTACK_LOG_FORMAT") or configured_format
    handler = _StderrHandler()
    handler.setFormatter(JSONFormatter() if log_format.strip().lower() == "json" else KeyValueFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger("polystack")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    if os.environ.get("POLYSTACK_ACCESS_LOG", "").strip().lower() in _FALSE:
        merged["access"] = "warning"
    for name, level in _levels_from("LLAMA_STACK_LOGGING") + _levels_from("POLYSTACK_LOGGING"):
        merged[name] = level
    for name, level in merged.items():
        target = root if name in ("all", "polystack") else logging.getLogger(f"polystack.{name}")
        target.setLevel(level.upper())
