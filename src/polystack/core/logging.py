"""Structured logging: key=value text by default, JSON lines with POLYSTACK_LOG_FORMAT=json.

Environment (documented in docs/configuration.md):
  POLYSTACK_LOGGING      per-logger levels, e.g. `all=debug` or `server=debug,access=warning`
  POLYSTACK_LOG_FORMAT   `text` (default) or `json`
  POLYSTACK_ACCESS_LOG   `false` switches the per-request access log off (default: on, at info)
"""

from __future__ import annotations

import logging
import os
import sys
import time

import orjson

from polystack.core import request_log

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
    """Tags every line logged while a request is in flight with its id, to correlate it with the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        entry = request_log.current()
        if entry is not None and not hasattr(record, "request_id"):
            record.request_id = entry.request_id
        return True


def setup_logging(levels: dict[str, str] | None = None) -> None:
    """Configure the `polystack` loggers; POLYSTACK_LOGGING='server=debug,all=info' overrides levels."""
    handler = _StderrHandler()
    handler.setFormatter(JSONFormatter() if os.environ.get("POLYSTACK_LOG_FORMAT") == "json" else KeyValueFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger("polystack")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    merged = dict(levels or {})
    if os.environ.get("POLYSTACK_ACCESS_LOG", "").strip().lower() in _FALSE:
        merged["access"] = "warning"
    for item in filter(None, os.environ.get("POLYSTACK_LOGGING", "").split(",")):
        name, _, level = item.partition("=")
        merged[name.strip()] = level.strip()
    for name, level in merged.items():
        target = root if name in ("all", "polystack") else logging.getLogger(f"polystack.{name}")
        target.setLevel(level.upper())
