"""What changed in a vector-index file since a process last looked: how several processes share one file.

Each process keeps its own memory (StoreRows, searchers) and catches it up from SQLite, which stays the
source of truth. Two watermarks say how far it got: the last chunk row applied (rows only grow, never
reused: AUTOINCREMENT) and the last entry of the `chunk_changes` log applied (deleted rows, attribute
changes, stores created or deleted). Both come from `sqlite_sequence`, so "anything new?" is one read
of a tiny table: the cost of a query when nothing changed. A process applies its own writes the same
way, right after its COMMIT, so memory follows the file's commit order whoever wrote.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from polystack.providers.utils.vector_index.database import Connection


@dataclass(frozen=True)
class Marks:
    """The last chunk row and the last change-log entry a process has applied."""

    row: int = 0
    change: int = 0


def current_marks(conn: Connection) -> Marks:
    values = dict(conn.execute("SELECT name, seq FROM sqlite_sequence WHERE name IN ('chunks', 'chunk_changes')"))
    return Marks(int(values.get("chunks", 0)), int(values.get("chunk_changes", 0)))


@dataclass
class StoreChanges:
    """One store's changes since some marks, in the form memory applies them."""

    removed: list[int] = field(default_factory=list)
    attributes: dict[str, tuple[dict[str, Any], list[int]]] = field(default_factory=dict)


@dataclass
class Changes:
    marks: Marks
    catalogue_changed: bool = False
    stores: dict[int, StoreChanges] = field(default_factory=lambda: defaultdict(StoreChanges))


def read_changes(conn: Connection, since: Marks) -> Changes:
    """The change log above `since.change`, read in the caller's transaction (new rows are read per store)."""
    changes = Changes(current_marks(conn))
    cursor = conn.execute(
        "SELECT c.store, c.row, c.kind, chunks.attributes FROM chunk_changes c "
        "LEFT JOIN chunks ON chunks.row = c.row WHERE c.seq > ? ORDER BY c.seq", (since.change,))
    for store, row, kind, attributes in cursor:
        if kind == "store":
            changes.catalogue_changed = True
        elif kind == "delete":
            changes.stores[store].removed.append(row)
        elif kind == "attributes" and attributes is not None:  # None: deleted since, a later entry says so
            current = changes.stores[store].attributes
            current.setdefault(attributes, (json.loads(attributes), []))[1].append(row)
    return changes
