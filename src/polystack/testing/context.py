"""The current test's id, which (when set) becomes part of every recording key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

TEST_ID_ENV = "POLYSTACK_TEST_ID"

_test_id: ContextVar[str | None] = ContextVar("polystack_test_id", default=None)


def current_test_id() -> str | None:
    """The context's test id, else POLYSTACK_TEST_ID, else None (and then keys ignore it)."""
    return _test_id.get() or os.environ.get(TEST_ID_ENV) or None


@contextmanager
def using_test_id(test_id: str | None) -> Iterator[None]:
    """Within the block, requests are keyed under `test_id`, so identical requests in two tests differ."""
    token = _test_id.set(test_id)
    try:
        yield
    finally:
        _test_id.reset(token)
