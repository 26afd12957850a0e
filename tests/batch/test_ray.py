"""``--engine ray`` on a local Ray with 2 CPUs: same outputs as one process, and a killed worker is retried.

Outputs are compared lossless (FFV1): at these tests' 64x48 pixels x264 is not repeatable (the same YUV frames,
encoded 100 times in one process with one thread, gave 3-6 different bitstreams; at 256x160 and 640x480 every
encode was the same), so H.264 outputs of identical frames could differ.

Run alone with ``pytest -m ray``; skipped where Ray is not installed (``pip install "llve[ray]"``).
"""
import logging
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from llve.batch.jobs import EnhancerConfig, run_batch
from tests.batch.helpers import decode, make_clips

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def local_ray():
    for attempt in (1, 2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
            break
        except Exception as exc:  # Ray gives its raylet a fixed 30 s to start; an overloaded machine can miss it
            ray.shutdown()
            if attempt == 2:
                pytest.skip(f"local Ray did not start on this machine: {exc}")
    yield
    ray.shutdown()


def ray_workers(title: str) -> list[int]:
    """Pids of this test's own Ray worker processes whose title starts with ``title`` (from /proc)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        try:
            parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue

    def mine(pid: int) -> bool:
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = parent.get(pid, 0)
        return False

    found = []
    for pid in parent:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith(title) and mine(pid):
            found.append(pid)
    return found


def test_ray_outputs_equal_the_single_process_outputs_frame_for_frame(tmp_path, tiny_weights, local_ray):
    from llve.batch.ray_engine import ray_engine

    clips = make_clips(tmp_path / "in")
    spec = EnhancerConfig(str(tiny_weights))
    on_ray = run_batch(clips, tmp_path / "ray", spec, engine=ray_engine(), lossless=True, progress=False)
    alone = run_batch(clips, tmp_path / "alone", spec, lossless=True, progress=False)
    assert [r.status for r in on_ray.records] == ["done"] * 6 and [r.status for r in alone.records] == ["done"] * 6
    for clip in clips:
        name = clip.stem + "_enhanced.mkv"
        a, b = decode(tmp_path / "ray" / name), decode(tmp_path / "alone" / name)
        assert len(a) == len(b) == 6 and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == sorted(
        [c.stem + "_enhanced.mkv" for c in clips] + ["llve-manifest.jsonl"])


def test_a_ray_worker_killed_in_the_middle_of_a_task_is_retried(tmp_path, tiny_weights, local_ray):
    from llve.batch.ray_engine import ray_engine

    clips = make_clips(tmp_path / "in", count=4, frames=6, long=150)  # clip0 is long: time to kill it
    out = tmp_path / "out"
    result = {}
    thread = threading.Thread(target=lambda: result.update(summary=run_batch(
        clips, out, EnhancerConfig(str(tiny_weights)), engine=ray_engine(), lossless=True, progress=False)))
    thread.start()
    killed, deadline = None, time.time() + 120
    while killed is None and thread.is_alive() and time.time() < deadline:
        if list(out.glob(".clip0_enhanced.tmp-*")):  # clip0 is half-written right now
            busy = ray_workers("ray::EnhanceWorker.enhance")
            if busy:
                killed = busy[0]
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    thread.join(timeout=300)
    assert killed is not None, "the batch finished before a worker could be killed"
    records = result["summary"].records
    assert sorted(Path(r.input).name for r in records) == [c.name for c in clips]
    assert {r.status for r in records} == {"done"}, [r.error for r in records]
    alone = run_batch(clips, tmp_path / "alone", EnhancerConfig(str(tiny_weights)), lossless=True, progress=False)
    assert {r.status for r in alone.records} == {"done"}
    for clip, frames in zip(clips, (150, 6, 6, 6)):
        a, b = decode(out / (clip.stem + "_enhanced.mkv")), decode(tmp_path / "alone" / (clip.stem + "_enhanced.mkv"))
        assert len(a) == len(b) == frames and all(np.array_equal(x, y) for x, y in zip(a, b))
