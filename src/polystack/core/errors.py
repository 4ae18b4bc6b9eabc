"""Startup errors: a bad config or an unbuildable stack, reported with where and what."""

from __future__ import annotations


class StackError(Exception):
    """The stack cannot be built or started; the message says what to fix."""


class ConfigError(StackError):
    """A run config problem, located by file and key path."""

    def __init__(self, problem: str, *, path: str | None = None, file: str | None = None) -> None:
        self.problem = problem
        self.path = path
        self.file = file
        where = ": ".join(part for part in (file, path) if part)
        super().__init__(f"{where}: {problem}" if where else problem)
