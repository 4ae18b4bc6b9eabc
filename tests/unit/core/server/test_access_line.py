"""The access line written without a LogRecord is the line logging would write, and only used when nothing
else listens."""

import json
import logging

import pytest

from polystack.core.logging import setup_logging
from polystack.core.server import access_line

FIELDS = {"method": "POST", "path": "/v1/chat/completions", "status": 200, "duration_ms": 1.5,
          "request_id": "req-1", "model": "m/x"}


@pytest.fixture
def only_our_handler(monkeypatch):
    """setup_logging's handler alone; pytest's capture handlers on the root logger (added as each test's
    body starts) set aside by `alone()`."""
    polystack_logger = logging.getLogger("polystack")
    yield lambda: monkeypatch.setattr(logging.getLogger(), "handlers", [])
    polystack_logger.handlers.clear()
    polystack_logger.setLevel(logging.NOTSET)


def the_two_lines(capsys) -> tuple[str, str]:
    logger = logging.getLogger("polystack.access")
    assert access_line.write_access_line(logger, dict(FIELDS))
    access_line.flush()
    fast = capsys.readouterr().err
    logger.info("request", extra=dict(FIELDS))
    slow = capsys.readouterr().err
    return fast, slow


def test_the_text_line_is_the_one_logging_writes(only_our_handler, capsys, monkeypatch):
    monkeypatch.delenv("POLYSTACK_LOG_FORMAT", raising=False)
    only_our_handler()
    setup_logging()
    fast, slow = the_two_lines(capsys)
    assert fast.endswith("\n") and fast.count("\n") == 1
    assert fast.split(" ", 1)[1] == slow.split(" ", 1)[1]  # all but the timestamp (seconds may tick)
    assert "status=200" in fast and "model=m/x" in fast


def test_the_json_line_is_the_one_logging_writes(only_our_handler, capsys, monkeypatch):
    monkeypatch.setenv("POLYSTACK_LOG_FORMAT", "json")
    only_our_handler()
    setup_logging()
    fast, slow = (json.loads(line) for line in the_two_lines(capsys))
    assert fast.pop("time") > 0 and slow.pop("time") > 0
    assert fast == slow and list(fast) == list(slow)


def test_any_other_handler_gets_the_line_through_logging(only_our_handler, monkeypatch):
    setup_logging()
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])
    assert not access_line.write_access_line(logging.getLogger("polystack.access"), dict(FIELDS))
