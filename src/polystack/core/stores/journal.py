"""An append-only local journal that makes a record crash-safe before the database has it.

A request appends its record with one `write()` (microseconds, no fsync): once in the kernel it
survives kill -9 of the server. The database write then happens behind the response. Each process
writes its own segment and holds an exclusive lock on it; a segment nobody holds belongs to a process
that died, and the next process to start replays it into the database, then deletes it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

logger = logging.getLogger("polystack.storage")


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None
        self._path: Path | None = None
        self._unacknowledged = 0

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._rotate()

    def _rotate(self) -> None:
        path = self.directory / f"segment-{os.getpid()}-{time.time_ns()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        old_fd, old_path = self._fd, self._path
        self._fd, self._path = fd, path
        if old_fd is not None and old_path is not None:
            os.close(old_fd)
            old_path.unlink(missing_ok=True)

    def append(self, record: dict[str, object]) -> None:
        assert self._fd is not None, "journal not open"
        os.write(self._fd, orjson.dumps(record) + b"\n")
        self._unacknowledged += 1

    def committed(self, count: int) -> None:
        """`count` records reached the database; when none is outstanding the segment starts afresh."""
        self._unacknowledged -= count
        if self._unacknowledged == 0 and self._path is not None and self._path.stat().st_size > 1 << 20:
            self._rotate()

    def close(self, *, all_committed: bool) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        if all_committed and self._path is not None:
            self._path.unlink(missing_ok=True)
        self._fd = None

    def orphaned_records(self) -> Iterator[tuple[Path, list[dict[str, object]]]]:
        """Records of segments whose writer is gone (unlocked), segment by segment."""
        for path in sorted(self.directory.glob("segment-*.jsonl")):
            if path == self._path:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live process owns it
                records = []
                for line in path.read_bytes().splitlines():
                    try:
                        records.append(orjson.loads(line))
                    except ValueError:
                        logger.warning("journal %s: skipping a torn last line", path.name)
                yield path, records
            finally:
                os.close(fd)


def journal_directory(configured: str | None, backend: object, table: str) -> Path:
    """Where a store's journal lives, so that it is only ever replayed into the store it was written for:
    the configured folder; beside a SQLite file; else under ~/.polystack/journal, named after the
    database address and table."""
    if configured:
        return Path(configured).expanduser()
    db_path = getattr(backend, "db_path", None)
    if db_path:
        path = Path(db_path).expanduser()
        return path.with_name(f"{path.name}.{table}.journal")
    import hashlib

    address = getattr(backend, "address", None)
    where = address() if callable(address) else type(backend).__name__
    digest = hashlib.sha256(f"{type(backend).__name__}|{where}|{table}".encode()).hexdigest()[:16]
    return Path("~/.polystack/journal").expanduser() / f"{table}-{digest}"
