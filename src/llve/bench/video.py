"""``llve bench``'s ``video`` mode: ``llve enhance`` on a synthetic clip, and with ``--stages`` where its time goes.

Every stage of the whole path marks itself (:mod:`llve.core.stageclock`) on the thread that runs it: the reader
thread decodes and converts to RGB, the stream's thread runs the network, the exposure and the filters, the writer
thread converts to YUV and encodes. A stage's time is wall time on its thread, so threads that run at once (and
x264's own threads, which encode while the writer waits on them) make the sum of the stages differ from the wall
time: ``overlap`` is that difference (sum of work minus wall, positive when threads ran side by side), and the
process CPU time says how many cores the path kept busy.
"""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from llve.core.stageclock import WAITS, StageClock
from llve.media.video import VideoInfo, VideoWriter
from llve.run.enhance import enhance_path
from llve.run.enhancer import Enhancer

# Every stage of the video path, in the order a frame meets them, and the thread that runs it: what `--stages`
# reports (a stage that did not run, e.g. calibration for a network without exposure control, reports 0).
STAGES = (("decode", "reader"), ("yuv to rgb", "reader"), ("wait for decode", "stream"),
          ("input traits", "stream"), ("to tensor", "stream"), ("network encoder", "stream"),
          ("network decoders", "stream"), ("roll-off", "stream"), ("exposure metering", "stream"),
          ("calibration", "stream"), ("temporal filter", "stream"), ("spatial filter", "stream"),
          ("bars and grey", "stream"), ("to uint8", "stream"), ("wait for encode", "stream"),
          ("rgb to yuv", "writer"), ("video encode", "writer"))


def synthetic_clip(path: Path, height: int, width: int, frames: int) -> Path:
    """A dark H.264 clip with smooth moving content (noise would make the encoder, not the network, the cost)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    info = VideoInfo(width, height, Fraction(25), Fraction(1, 25), frames, has_audio=False)
    with VideoWriter(path, info) as writer:
        for t in range(frames):
            wave = 0.5 + 0.25 * np.sin(xx / 37.0 + t / 3) + 0.25 * np.cos(yy / 23.0 - t / 5)
            rgb = np.stack([wave, wave[::-1], wave[:, ::-1]], axis=-1) * 40
            writer.write(rgb.astype(np.uint8), t)
    return path


@dataclass(frozen=True)
class StageCost:
    """One stage of the video path: milliseconds per output frame (its total over the clip / frames), calls."""

    name: str
    thread: str
    ms_per_frame: float
    calls: int
    wait: bool


@dataclass(frozen=True)
class StageTable:
    """Where one model's video time went, per output frame: every stage, the sum of the work stages (waits left
    out), the wall time, their difference (``overlap_ms``), and the process's CPU time (all threads)."""

    model: str
    size: str
    round: int
    frames: int
    stages: list[StageCost]
    work_ms: float
    wall_ms: float
    overlap_ms: float
    cpu_ms: float
    cores: int

    @classmethod
    def of(cls, clock: StageClock, wall_s: float, cpu_s: float, frames: int, model: str, size: str,
           round_: int) -> StageTable:
        per_frame = 1000 / frames
        costs = [StageCost(name, thread, clock.totals[name].seconds * per_frame if name in clock.totals else 0.0,
                           clock.totals[name].calls if name in clock.totals else 0, name in WAITS)
                 for name, thread in STAGES]
        work = sum(c.ms_per_frame for c in costs if not c.wait)
        wall = wall_s * per_frame
        return cls(model, size, round_, frames, costs, work, wall, work - wall, cpu_s * per_frame, os.cpu_count() or 1)


@dataclass
class VideoRun:
    """``llve enhance`` on ``clip`` (the model already loaded), as a bench measurement: a call returns (seconds per
    frame, frames); with ``stages``, the call also leaves its :class:`StageTable` in ``table``."""

    enhancer: Enhancer
    clip: Path
    out: Path
    frames: int
    stages: bool = False
    label: tuple[str, str, int] = ("", "", 0)  # model, size, round of the table
    table: StageTable | None = None

    def __call__(self) -> tuple[float, int]:
        clock = StageClock()
        cpu, start = time.process_time(), time.perf_counter()
        if self.stages:
            with clock.running():
                self._enhance()
        else:
            self._enhance()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        if self.stages:
            self.table = StageTable.of(clock, wall, cpu, self.frames, *self.label)
        return wall / self.frames, self.frames

    def _enhance(self) -> None:
        enhance_path(self.enhancer, self.clip, self.out, overwrite=True, progress=False)


def video_run(model, device, options, height: int, width: int, frames: int, workdir: Path, stages: bool,
              label: tuple[str, str, int]) -> VideoRun:
    """The bench's video measurement of ``model`` at one size: a clip of ``frames`` frames made, the enhancer built."""
    clip = synthetic_clip(workdir / f"clip-{width}x{height}-{frames}.mp4", height, width, frames)
    enhancer = Enhancer(device=str(device), options=options, model=model)
    return VideoRun(enhancer, clip, workdir / "out.mp4", frames, stages, label)


STAGE_HEADER = f"{'stage':>18} {'thread':>7} {'ms/frame':>9} {'calls':>6}"


def format_stages(table: StageTable, log: Callable[[str], None]) -> None:
    """The table ``llve bench --stages`` prints under the video row."""
    log(f"stages of {table.model} video at {table.size} ({table.frames} frames; ms per output frame, wall time on "
        "each stage's thread):")
    log(STAGE_HEADER)
    for c in table.stages:
        log(f"{c.name + (' *' if c.wait else ''):>18} {c.thread:>7} {c.ms_per_frame:9.1f} {c.calls:6d}")
    log(f"{'work (sum, * excluded)':>26} {table.work_ms:9.1f}")
    log(f"{'wall':>26} {table.wall_ms:9.1f}")
    log(f"{'overlap (work - wall)':>26} {table.overlap_ms:9.1f}")
    log(f"{'process CPU':>26} {table.cpu_ms:9.1f}   ({table.cpu_ms / table.wall_ms:.2f} of {table.cores} cores)")


def stages_json(table: StageTable) -> dict:
    return dataclasses.asdict(table)

