"""Simulated serving traffic: client threads calling the monitored predict function."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlotel.demo._model import RequestMaker


@dataclass
class Tally:
    """What the clients themselves counted: the truth the telemetry is checked against."""

    calls: int = 0
    errors: int = 0
    rows: int = 0

    def add(self, other: Tally) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.rows += other.rows


class Traffic:
    """``threads`` clients sending requests to ``predict`` at ``rate`` requests/s in all.

    Every ``error_every``-th request (counted over all threads) is malformed, so the share of
    failing calls is ``1 / error_every`` whatever the timing. :meth:`inject_drift` switches
    every client to drifted requests from then on.
    """

    def __init__(
        self,
        predict: Callable[[list[dict[str, Any]]], Any],
        pool: np.ndarray,
        *,
        threads: int,
        rate: float,
        seed: int,
        error_every: int = 64,
    ) -> None:
        self.predict = predict
        self.pool = pool
        self.rate_per_thread = rate / threads
        self.seed = seed
        self.error_every = error_every
        self._numbers = itertools.count(1)  # next() is atomic in CPython: a global request number
        self._drifted = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._tally = Tally()
        self._live = [Tally() for _ in range(threads)]
        self._threads = [
            threading.Thread(target=self._client, args=(i,), name=f"demo-client-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def inject_drift(self) -> None:
        self._drifted.set()

    def stop(self) -> Tally:
        """Stop the clients, wait for their last calls, and return the total tally."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self._tally

    def progress(self) -> Tally:
        """The running tally (approximate while clients run)."""
        total = Tally()
        for live in self._live:
            total.add(live)
        return total

    def _client(self, index: int) -> None:
        maker = RequestMaker(self.pool, self.seed * 1009 + index)
        mine = self._live[index]
        while not self._stop.is_set():
            number = next(self._numbers)
            rows = maker.rows(self._drifted.is_set(), malformed=number % self.error_every == 0)
            try:
                self.predict(rows)
            except ValueError:
                mine.errors += 1
            mine.calls += 1
            mine.rows += len(rows)
            self._stop.wait(maker.think_seconds(self.rate_per_thread))
        with self._lock:
            self._tally.add(mine)
