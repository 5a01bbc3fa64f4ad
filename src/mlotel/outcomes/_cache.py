"""A bounded, time-limited map from prediction id to the prediction, awaiting its outcome."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, NamedTuple

UNKNOWN = "unknown"
LATE = "late"
DUPLICATE = "duplicate"
#: When one outcome is looked up in several models, the most telling reason wins.
REASON_RANK = {UNKNOWN: 0, LATE: 1, DUPLICATE: 2}


class Entry(NamedTuple):
    """One cached prediction: when it was made (monotonic seconds), the predicted value(s), its rows."""

    time: float
    predicted: Any
    rows: int


class PredictionCache:
    """Predictions by id, at most ``max_rows`` rows in all and each for at most ``ttl`` seconds.

    Oldest entries go first when the cache is full; an entry older than ``ttl`` is
    expired when met. Ids that left the cache are remembered (at most ``max_rows`` of
    them, oldest forgotten first) so that a later outcome is told apart: ``late`` (the
    prediction expired or was evicted), ``duplicate`` (an outcome was already joined),
    or ``unknown`` (never seen, or forgotten). Memory is therefore bounded by
    ``max_rows`` predicted rows plus ``2 * max_rows`` ids, whatever arrives.

    Not thread-safe: the owner holds a lock around every method.
    """

    __slots__ = ("max_rows", "ttl", "rows", "_entries", "_gone")

    def __init__(self, max_rows: int, ttl: float) -> None:
        if max_rows < 1 or ttl <= 0:
            raise ValueError("max_rows must be >= 1 and ttl > 0")
        self.max_rows = max_rows
        self.ttl = ttl
        self.rows = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._gone: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        """Entries held now (at most ``max_rows``)."""
        return len(self._entries)

    @property
    def remembered(self) -> int:
        """Ids remembered as gone (at most ``max_rows``)."""
        return len(self._gone)

    def put(self, key: str, predicted: Any, rows: int, now: float) -> bool:
        """Hold a prediction of ``rows`` rows made at ``now``; False when it is larger than the whole cache.

        A second prediction under the same id replaces the first.
        """
        old = self._entries.pop(key, None)
        if old is not None:
            self.rows -= old.rows
        self._gone.pop(key, None)
        self.expire(now)
        if rows > self.max_rows:
            self._forget(key, LATE)
            return False
        while self.rows + rows > self.max_rows:
            gone_key, gone = self._entries.popitem(last=False)
            self.rows -= gone.rows
            self._forget(gone_key, LATE)
        self._entries[key] = Entry(now, predicted, rows)
        self.rows += rows
        return True

    def take(self, key: str, now: float) -> Entry | str:
        """Remove and return the prediction for ``key``; or why there is none: ``unknown``, ``late``, ``duplicate``."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return self._gone.get(key, UNKNOWN)
        self.rows -= entry.rows
        if now - entry.time > self.ttl:
            self._forget(key, LATE)
            return LATE
        self._forget(key, DUPLICATE)
        return entry

    def put_back(self, key: str, entry: Entry) -> None:
        """Undo a :meth:`take` whose outcome could not be used (e.g. the wrong number of rows)."""
        self._gone.pop(key, None)
        self._entries[key] = entry
        self._entries.move_to_end(key, last=False)  # keep its age order: it is among the oldest
        self.rows += entry.rows

    def expire(self, now: float) -> None:
        """Drop the entries older than ``ttl`` (they are in insertion order, oldest first)."""
        entries = self._entries
        limit = now - self.ttl
        while entries:
            key, entry = next(iter(entries.items()))
            if entry.time >= limit:
                break
            del entries[key]
            self.rows -= entry.rows
            self._forget(key, LATE)

    def _forget(self, key: str, reason: str) -> None:
        gone = self._gone
        gone[key] = reason
        gone.move_to_end(key)
        while len(gone) > self.max_rows:
            gone.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._gone.clear()
        self.rows = 0
