"""The access log's line written without logging's record machinery, when only our own handler would see it.

logging makes a LogRecord, runs the record factory, the filters and the formatter's scan of the record's
attributes, then writes and flushes stderr for each line: ~5% of a proxied request's CPU in bench/
profiles. When the `polystack` logger's sole handler is the one setup_logging installed (the server run by
`polystack run`), the same line is formatted here in one step and the lines of one loop turn leave in one
write. Anything else (a test's caplog, an application's handlers, another record factory) gets logging.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time

import orjson

from polystack.core.logging import JSONFormatter, KeyValueFormatter, sole_handler, trace_fields

_pending: list[str] = []


def write_access_line(logger: logging.Logger, fields: dict[str, object]) -> bool:
    """Write the `request` line with `fields` as the handler would; False when logging must do it."""
    if logger.handlers or logger.filters or not logger.propagate:
        return False
    handler = sole_handler()
    if handler is None:
        return False
    kind = type(handler.formatter)
    if kind is not KeyValueFormatter and kind is not JSONFormatter:
        return False
    now = time.time()
    fields.update(trace_fields())
    if kind is KeyValueFormatter:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        line = f"{stamp} INFO    {logger.name}: request " + " ".join(f"{k}={v}" for k, v in fields.items())
    else:
        entry = {"time": now, "level": "info", "logger": logger.name, "message": "request", **fields}
        line = orjson.dumps(entry, default=str).decode()
    _pending.append(line)
    if len(_pending) == 1:
        try:
            asyncio.get_running_loop().call_soon(flush)
        except RuntimeError:  # no loop: write now
            flush()
    return True


def flush() -> None:
    """Write the pending lines to stderr in one write (the loop calls this at the end of the turn)."""
    if not _pending:
        return
    text = "\n".join(_pending) + "\n"
    _pending.clear()
    stream = sys.stderr
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):  # stderr closed or gone: as logging's handler, never fail the request
        pass


atexit.register(flush)
