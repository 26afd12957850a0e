"""Decode ahead and encode behind on helper threads, so file I/O overlaps the network.

FFmpeg (through PyAV), OpenCV and PNG/JPEG codecs release the GIL while they work, so a reader thread that decodes
the next frame and a writer thread that encodes the previous result run beside the network's own threads instead
of after them. Order is kept, memory stays bounded (a few frames queued), and an error on a helper thread is
raised in the caller at its next call, as if it had happened there.
"""
from __future__ import annotations

import collections
import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from llve.core.stageclock import stage

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order while a thread produces up to ``depth`` of them ahead."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    source = iter(items)

    def offer(entry: tuple) -> bool:
        """Queue ``entry`` unless the consumer has gone (a plain put on a full queue would then block forever)."""
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                buffer.put(entry, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for item in source:
                if not offer((item, None)):
                    return
            offer((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            offer((_DONE, exc))
        finally:
            getattr(source, "close", lambda: None)()  # a generator's open files close on this thread

    thread = threading.Thread(target=produce, name="llve-reader", daemon=True)
    thread.start()
    try:
        while True:
            with stage("wait for decode"):
                item, error = buffer.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()  # a consumer that stops early releases the producer
        thread.join(timeout=5)


class OrderedWorker(contextlib.AbstractContextManager):
    """Run calls one at a time, in submission order, on one thread; at most ``depth`` wait.

    Use as a context manager: leaving it normally waits for every call and raises the first failure; leaving it
    with an exception drops the calls not started yet.
    """

    def __init__(self, depth: int = 4):
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llve-writer")
        self._pending: collections.deque[Future] = collections.deque()

    def submit(self, fn: Callable[..., object], *args) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while self._pending and (len(self._pending) > self.depth or self._pending[0].done()):
            with stage("wait for encode"):
                self._pending.popleft().result()  # raises the helper's error here

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                while self._pending:
                    with stage("wait for encode"):
                        self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
