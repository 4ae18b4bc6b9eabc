"""Structured logging: key=value text by default, JSON lines with POLYSTACK_LOG_FORMAT=json."""

from __future__ import annotations

import logging
import os
import sys
import time

import orjson

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

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def setup_logging(levels: dict[str, str] | None = None) -> None:
    """Configure the `polystack` loggers; POLYSTACK_LOGGING='server=debug,all=info' overrides levels."""
    handler = _StderrHandler()
    handler.setFormatter(JSONFormatter() if os.environ.get("POLYSTACK_LOG_FORMAT") == "json" else KeyValueFormatter())
    root = logging.getLogger("polystack")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    merged = dict(levels or {})
    for item in filter(None, os.environ.get("POLYSTACK_LOGGING", "").split(",")):
        name, _, level = item.partition("=")
        merged[name.strip()] = level.strip()
    for name, level in merged.items():
        target = root if name in ("all", "polystack") else logging.getLogger(f"polystack.{name}")
        target.setLevel(level.upper())
