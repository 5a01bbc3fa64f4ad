"""Simulated serving traffic: client threads calling the monitored predict function."""

from __future__ import annotations

import itertools
import threading
import time
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
    outcomes: int = 0  # rows whose true label was reported

    def add(self, other: Tally) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.rows += other.rows
        self.outcomes += other.outcomes


class Traffic:
    """``threads`` clients sending requests to ``predict`` at ``rate`` requests/s in all (Poisson arrivals).

    Every ``error_every``-th request (counted over all threads) is malformed, so the share of
    failing calls is ``1 / error_every`` whatever the timing. :meth:`inject_drift` switches
    every client to drifted requests from then on. With ``labels`` (one per pool row), each
    successful call's true labels are reported to mlotel right after it returns
    (``mlotel.record_outcome`` with the call's prediction id), as a labelling system would.
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
        labels: np.ndarray | None = None,
    ) -> None:
        self.predict = predict
        self.pool = pool
        self.labels = labels
        self.rate_per_thread = rate / threads
        self.seed = seed
        self.error_every = error_every
        self._numbers = itertools.count(1)  # next() is atomic in CPython: a global request number
        self._first_call = threading.Event()
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
        """Start the first client, and the others once its first call returned.

        The first monitored call sets up the model's telemetry; starting the other clients
        after it keeps them from racing to do the same.
        """
        self._threads[0].start()
        self._first_call.wait(timeout=10.0)
        for thread in self._threads[1:]:
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
        import mlotel

        maker = RequestMaker(self.pool, self.seed * 1009 + index, self.labels)
        mine = self._live[index]
        next_at = time.monotonic()
        while not self._stop.is_set():
            number = next(self._numbers)
            rows, labels = maker.request(self._drifted.is_set(), malformed=number % self.error_every == 0)
            try:
                with mlotel.prediction_context() as call:
                    self.predict(rows)
            except ValueError:
                mine.errors += 1
            else:
                if self.labels is not None and call.prediction_id is not None:
                    mlotel.record_outcome(call.prediction_id, labels.tolist())
                    mine.outcomes += len(rows)
            finally:
                self._first_call.set()
            mine.calls += 1
            mine.rows += len(rows)
            # Open-loop arrivals: the next request is due at a Poisson time, however long this one took.
            next_at += maker.think_seconds(self.rate_per_thread)
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -1.0:  # far behind (an overloaded machine): do not burst to catch up
                next_at = time.monotonic()
        with self._lock:
            self._tally.add(mine)
