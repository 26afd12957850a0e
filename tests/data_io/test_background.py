"""Helper threads of llve.media.background: order kept, errors raised in the caller, nothing left running."""
import threading
import time

import pytest

from llve.media.background import OrderedWorker, prefetch


def test_prefetch_keeps_order_and_reads_ahead_boundedly():
    produced = []

    def numbers():
        for i in range(20):
            produced.append(i)
            yield i

    stream = prefetch(numbers(), depth=2)
    assert next(stream) == 0
    time.sleep(0.2)  # let the reader run as far ahead as it may
    assert 2 <= len(produced) <= 4  # one handed out, two queued, one waiting to be queued
    assert [0] + list(stream) == list(range(20))


def test_prefetch_raises_the_producers_error_after_its_items():
    def broken():
        yield 1
        yield 2
        raise ValueError("damaged frame 2")

    got = []
    with pytest.raises(ValueError, match="damaged frame 2"):
        for item in prefetch(broken()):
            got.append(item)
    assert got == [1, 2]


def test_prefetch_stopped_early_closes_the_source_and_its_thread():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    stream = prefetch(endless(), depth=1)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "llve-reader"]


def test_prefetch_stopped_with_a_full_queue_after_the_last_item_ends_its_thread():
    """The reader has read everything and waits to queue its end marker: stopping must still release it."""
    stream = prefetch(iter([0, 1]), depth=1)
    assert next(stream) == 0
    time.sleep(0.2)  # 1 is queued; the end marker waits for room
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "llve-reader" and t.is_alive()]


def test_ordered_worker_runs_calls_in_order():
    done = []
    with OrderedWorker(depth=2) as worker:
        for i in range(50):
            worker.submit(done.append, i)
    assert done == list(range(50))


def test_ordered_worker_raises_a_failed_call_in_the_caller():
    def fail(i):
        if i == 3:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        with OrderedWorker(depth=1) as worker:
            for i in range(10):
                worker.submit(fail, i)


def test_ordered_worker_drops_waiting_calls_when_the_caller_fails():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with OrderedWorker(depth=8) as worker:
            worker.submit(time.sleep, 0.2)
            for i in range(5):
                worker.submit(done.append, i)
            raise KeyboardInterrupt
    assert done == []
