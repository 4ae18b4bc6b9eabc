"""An append-only local journal that makes a record crash-safe before the database has it.

A request appends its record with one `write()` (microseconds, no fsync): once in the kernel it
survives kill -9 of the server. The database write then happens behind the response. Each process
writes its own segment and holds an exclusive lock on it; a segment nobody holds belongs to a process
that died, and the next process to start replays it into the database, then deletes it. A record the
database refuses goes to `quarantine.jsonl` beside the segments, with the reason, so that it blocks
neither the rotation of the segment nor a start-up.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

logger = logging.getLogger("polystack.storage")


QUARANTINE = "quarantine.jsonl"


class Journal:
    def __init__(self, directory: Path, *, rotate_bytes: int = 1 << 20) -> None:
        """`rotate_bytes`: a segment this large starts afresh once every record in it is settled."""
        self.directory = directory
        self.rotate_bytes = rotate_bytes
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
        """`count` records are settled (in the database or quarantined); when none is outstanding the
        segment starts afresh."""
        self._unacknowledged -= count
        if self._unacknowledged == 0 and self._path is not None and self._path.stat().st_size > self.rotate_bytes:
            self._rotate()

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
        if self._fd is None:
            return
        os.close(self._fd)
        if all_committed and self._path is not None:
            self._path.unlink(missing_ok=True)
        self._fd = None

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
