"""Which chunk row sits at each position of a store's in-memory vector index, whether it is live, its attributes.

Positions are append-only (a replaced chunk gets a new one), so vectors never move between writes;
`compact()` drops dead positions once they outnumber live ones. Chunks of one file share their
attributes, so a filter is evaluated once per distinct attribute set (with the reference `matches()`),
then spread to every position with one numpy gather.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from polystack.apis.vector_io.filters import matches
from polystack.apis.vector_io.index import Filter


class StoreRows:
    def __init__(self, min_dead_to_compact: int = 1024) -> None:
        self.count = 0
        self.live = 0
        self._rows = np.empty(0, np.int64)
        self._alive = np.empty(0, np.bool_)
        self._groups = np.empty(0, np.int32)
        self._position: dict[int, int] = {}
        self._group_of: dict[str, int] = {}
        self._group_attributes: list[dict[str, Any]] = []
        self._min_dead_to_compact = min_dead_to_compact

    def append(self, rows: Sequence[int], attributes: Sequence[dict[str, Any]]) -> None:
        end = self.count + len(rows)
        if end > len(self._rows):
            capacity = max(end, len(self._rows) * 3 // 2 + 64)
            self._rows = _grown(self._rows, capacity)
            self._alive = _grown(self._alive, capacity)
            self._groups = _grown(self._groups, capacity)
        self._rows[self.count:end] = rows
        self._alive[self.count:end] = True
        self._groups[self.count:end] = [self._group(item) for item in attributes]
        self._position.update(zip(rows, range(self.count, end), strict=True))
        self.count, self.live = end, self.live + len(rows)

    def remove(self, rows: Sequence[int]) -> None:
        for row in rows:
            position = self._position.pop(row, None)
            if position is not None:
                self._alive[position] = False
                self.live -= 1

    def set_attributes(self, rows: Sequence[int], attributes: dict[str, Any]) -> None:
        positions = [self._position[row] for row in rows if row in self._position]
        self._groups[positions] = self._group(attributes)

    def mask(self, condition: Filter | None) -> np.ndarray | None:
        """Positions that are live and pass `condition`; None when that is every position."""
        alive = self._alive[:self.count]
        if condition is None:
            return None if self.live == self.count else alive.copy()
        passing = np.fromiter((matches(item, condition) for item in self._group_attributes), np.bool_,
                              len(self._group_attributes))
        return passing[self._groups[:self.count]] & alive

    def position_of(self, row: int) -> int | None:
        return self._position.get(row)

    def rows_at(self, positions: np.ndarray) -> list[int]:
        return self._rows[positions].tolist()  # type: ignore[no-any-return]

    def live_rows(self, mask: np.ndarray | None) -> np.ndarray:
        """Rows of the positions in `mask` (every live one when None)."""
        return self._rows[:self.count][self._alive[:self.count] if mask is None else mask]

    @property
    def should_compact(self) -> bool:
        dead = self.count - self.live
        return dead >= self._min_dead_to_compact and dead > self.live

    def compact(self) -> np.ndarray:
        """Drop dead positions and unused attribute sets; returns the kept old positions, in order."""
        keep = np.flatnonzero(self._alive[:self.count])
        used, groups = np.unique(self._groups[keep], return_inverse=True)
        self._group_attributes = [self._group_attributes[group] for group in used.tolist()]
        self._group_of = {_key(item): group for group, item in enumerate(self._group_attributes)}
        self._rows, self._groups = self._rows[keep], groups.astype(np.int32)
        self._alive = np.ones(len(keep), np.bool_)
        self.count = self.live = len(keep)
        self._position = dict(zip(self._rows.tolist(), range(self.count), strict=True))
        return keep

    def _group(self, attributes: dict[str, Any]) -> int:
        key = _key(attributes)
        group = self._group_of.get(key)
        if group is None:
            group = self._group_of[key] = len(self._group_attributes)
            self._group_attributes.append(dict(attributes))
        return group


def _key(attributes: dict[str, Any]) -> str:
    return json.dumps(attributes, sort_keys=True)


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.empty(capacity, array.dtype)
    grown[:len(array)] = array
    return grown
