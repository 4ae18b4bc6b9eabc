"""An append-only local journal that makes a record crash-safe before the database has it.

A request appends its record with one `write()` (microseconds, no fsync): once in the kernel it
survives kill -9 of the server. The database write then happens behind the response. Each process
writes its own segment (named by its pid and start time) and holds an exclusive lock on it, so several
workers or replicas can share one journal folder; a segment nobody holds belongs to a process that died,
and the next process to start replays it into the database, then deletes it (one replays it: the lock,
and a segment deleted meanwhile is skipped). A record the
database refuses goes to `quarantine.jsonl` beside the segments, with the reason, so that it blocks
neither the deletion of its segment nor a start-up.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

logger = logging.getLogger("polystack.storage")


QUARANTINE = "quarantine.jsonl"


@dataclass
class _Segment:
    """One file of this process's journal, locked while open; deleted once all its records are settled."""

    number: int
    path: Path
    fd: int
    size: int = 0
    outstanding: int = 0


class Journal:
    def __init__(self, directory: Path, *, rotate_bytes: int = 1 << 20) -> None:
        """`rotate_bytes`: past this size, records go to a new segment; the old one is deleted once every
        record in it is settled, so the journal stays small under steady load too."""
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self._segments: dict[int, _Segment] = {}
        self._current: _Segment | None = None
        self._numbers = itertools.count()

    def open(self) -> None:
        self._rotate()

    def _rotate(self) -> _Segment:
        self.directory.mkdir(parents=True, exist_ok=True)  # again each time: someone may have removed it
        path = self.directory / f"segment-{os.getpid()}-{time.time_ns()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        previous, self._current = self._current, _Segment(next(self._numbers), path, fd)
        self._segments[self._current.number] = self._current
        if previous is not None and previous.outstanding == 0:
            self._retire(previous)
        return self._current

    def _retire(self, segment: _Segment) -> None:
        del self._segments[segment.number]
        segment.path.unlink(missing_ok=True)  # unlinked before its lock goes: nobody replays it
        os.close(segment.fd)

    def append(self, record: dict[str, object]) -> int:
        """Make `record` survive a crash; returns the segment number to give `settled` for it."""
        segment = self._current
        assert segment is not None, "journal not open"
        if segment.size >= self.rotate_bytes:
            segment = self._rotate()
        data = orjson.dumps(record) + b"\n"
        os.write(segment.fd, data)
        segment.size += len(data)
        segment.outstanding += 1
        return segment.number

    def settled(self, segments: Iterable[int]) -> None:
        """Records of these segments (one number per record) are in the database or quarantined."""
        for number, count in Counter(segments).items():
            segment = self._segments.get(number)
            if segment is None:
                continue
            segment.outstanding -= count
            if segment.outstanding <= 0 and segment is not self._current:
                self._retire(segment)

    def quarantine(self, record: dict[str, object] | bytes, reason: str) -> None:
        """Keep a record the database refuses (or a line that is not one) aside, with why; logged once."""
        self.directory.mkdir(parents=True, exist_ok=True)
        entry = {"reason": reason, "quarantined_at": time.time(),
                 **({"line": record.decode(errors="replace")} if isinstance(record, bytes) else {"record": record})}
        with open(self.directory / QUARANTINE, "ab") as file:
            file.write(orjson.dumps(entry) + b"\n")
        what = f"record {record.get('id')!r}" if isinstance(record, dict) else "an unreadable line"
        logger.error("journal: %s cannot be stored (%s); kept in %s", what, reason, self.directory / QUARANTINE)

    def close(self, *, all_committed: bool) -> None:
        """Release the segments; they are deleted if every record reached the database, else replayed later."""
        for segment in list(self._segments.values()):
            if all_committed:
                segment.path.unlink(missing_ok=True)
            os.close(segment.fd)
        self._segments.clear()
        self._current = None

    def adopt_orphans(self, directory: Path) -> int:
        """Move the segments of dead writers found in `directory` (an earlier location) into this journal."""
        adopted = 0
        for path in sorted(directory.glob("segment-*.jsonl")) if directory.is_dir() else []:
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live process (of an earlier version) owns it
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                path.rename(self.directory / path.name)
                adopted += 1
            finally:
                os.close(fd)
        if adopted:
            logger.info("journal: took over %d segments from %s", adopted, directory)
        return adopted

    def orphaned_records(self) -> Iterator[tuple[Path, list[dict[str, object]]]]:
        """Records of segments whose writer is gone (unlocked), segment by segment."""
        for path in sorted(self.directory.glob("segment-*.jsonl")):
            if any(path == segment.path for segment in self._segments.values()):
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
                if os.fstat(fd).st_nlink == 0:
                    continue  # another process replayed and deleted it while we waited for the lock
                yield path, self._read(path)
            finally:
                os.close(fd)


    def _read(self, path: Path) -> list[dict[str, object]]:
        """The records of a segment; a torn last line is dropped (never acknowledged), others quarantined."""
        data = path.read_bytes()
        lines = data.splitlines()
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                record = orjson.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                records.append(record)
            elif number == len(lines) and not data.endswith(b"\n"):
                logger.warning("journal %s: skipping a torn last line", path.name)
            else:
                self.quarantine(line, f"line {number} of {path.name} is not a JSON record")
        return records


def journal_directory(configured: str | None, backend: object, table: str, store_dir: Path) -> Path:
    """Where a store's journal lives: the configured folder, else under the distribution's store
    directory, named after the database and table so it is only ever replayed into the store it was
    written for."""
    if configured:
        return Path(configured).expanduser()
    return store_dir.expanduser() / "journal" / f"{table}-{_digest(backend, table)}"


def legacy_journal_directories(backend: object, table: str) -> list[Path]:
    """Where earlier versions kept the journal: beside a SQLite file, else under ~/.polystack/journal."""
    db_path = getattr(backend, "db_path", None)
    if db_path:
        path = Path(db_path).expanduser()
        return [path.with_name(f"{path.name}.{table}.journal")]
    return [Path("~/.polystack/journal").expanduser() / f"{table}-{_digest(backend, table)}"]


def _digest(backend: object, table: str) -> str:
    db_path = getattr(backend, "db_path", None)
    address = getattr(backend, "address", None)
    if db_path:
        where = str(Path(db_path).expanduser().resolve())
    else:
        where = address() if callable(address) else type(backend).__name__
    return hashlib.sha256(f"{type(backend).__name__}|{where}|{table}".encode()).hexdigest()[:16]
