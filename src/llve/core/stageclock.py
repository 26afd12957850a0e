"""Where a video's time goes: named stages that time themselves into a clock when one is running.

The video path marks its stages (``with stage("decode"):``) on whichever thread runs them: the reader thread
decodes, the stream's thread runs the network and the filters, the writer thread encodes. Nothing is recorded
unless a :class:`StageClock` is running (``with clock.running():``, as ``llve bench --stages`` does); otherwise a
mark costs one global read. A stage may nest inside another (the network's calibration decodes inside the
exposure); each keeps its own time, and the caller knows which are parts of which (:data:`WAITS` are not work:
time a thread spent blocked on another).
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

# Time the stream's thread spent blocked on a helper thread: a full queue of results to encode, an empty one of
# decoded frames. Waits, not work: they are left out of the sum of stage times.
WAITS = ("wait for decode", "wait for encode")


@dataclass
class StageTotal:
    """One stage's accumulated time and number of calls, and the threads it ran on."""

    seconds: float = 0.0
    calls: int = 0
    threads: set[str] = field(default_factory=set)


@dataclass
class StageClock:
    """Accumulates the time of every marked stage, by name, from any thread, while it runs."""

    totals: dict[str, StageTotal] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, seconds: float) -> None:
        thread = threading.current_thread().name
        with self._lock:
            total = self.totals.setdefault(name, StageTotal())
            total.seconds += seconds
            total.calls += 1
            total.threads.add(thread)

    @contextlib.contextmanager
    def running(self) -> Iterator[StageClock]:
        """Record every stage marked (on any thread) while the block runs; one clock runs at a time."""
        global _running
        if _running is not None:
            raise RuntimeError("a stage clock is already running")
        _running = self
        try:
            yield self
        finally:
            _running = None


_running: StageClock | None = None


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` into the running clock, if one runs (exceptions included)."""
    clock = _running
    if clock is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        clock.add(name, time.perf_counter() - start)
