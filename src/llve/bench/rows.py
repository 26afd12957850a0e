"""The rows of ``llve bench``'s report: one measurement's figures, medians over rounds, the speed ratios, the table."""
from __future__ import annotations

import dataclasses
import itertools
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from llve.core.atomic import atomic_output


@dataclass(frozen=True)
class Figures:
    """Speed and memory of one measurement (the peak CUDA memory only on CUDA)."""

    fps: float
    ms_per_frame: float
    timed_frames: int
    rss_before_mb: float
    peak_rss_mb: float
    peak_cuda_mb: float | None


@dataclass(frozen=True)
class Row(Figures):
    """One line of the report: a model in a mode at a size, in one round, its figures and its compute rate.
    ``rounds_fps``: every round's frames/s, on the row chosen as the median of the rounds."""

    model: str
    size: str
    mode: str
    gflops_per_frame: float
    achieved_gflops: float
    utilisation: float
    round: int
    rounds_fps: list[float] | None = None

    @classmethod
    def of(cls, model: str, size: str, mode: str, figures: Figures, gflops_per_frame: float, matmul: float,
           round_: int) -> Row:
        achieved = gflops_per_frame * figures.fps
        return cls(model=model, size=size, mode=mode, **dataclasses.asdict(figures), gflops_per_frame=gflops_per_frame,
                   achieved_gflops=achieved, utilisation=achieved / matmul, round=round_)

    def to_json(self) -> dict:
        row = dataclasses.asdict(self)
        if self.rounds_fps is None:
            del row["rounds_fps"]
        return row


@dataclass(frozen=True)
class Speedup:
    """A ratio of frames/s the docs quote (``what``), at one size; ``rounds_ratio``: its value in every round."""

    size: str
    what: str
    ratio: float
    rounds_ratio: list[float] | None = None


def median_rows(rows: list[Row]) -> list[Row]:
    """One row per (model, mode): the round whose frames/s is the median of the rounds (the lower middle one for
    an even count), so every figure in a row comes from one measurement."""
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault((row.model, row.mode), []).append(row)
    chosen = []
    for group in groups.values():
        ranked = sorted(group, key=lambda r: r.fps)
        chosen.append(dataclasses.replace(ranked[(len(ranked) - 1) // 2], rounds_fps=[r.fps for r in group]))
    return chosen


def median_speedups(per_round: list[list[Speedup]]) -> list[Speedup]:
    """Each ratio's median over the rounds, with every round's value: both sides of a round's ratio were measured
    one after the other, so the machine's drift over the whole run does not enter it."""
    ratios: dict[tuple, list[float]] = {}
    for line in itertools.chain.from_iterable(per_round):
        ratios.setdefault((line.size, line.what), []).append(line.ratio)
    return [Speedup(size, what, statistics.median(values), values) for (size, what), values in ratios.items()]


def speedups(rows: list[Row], reference: str) -> list[Speedup]:
    """The ratios the docs quote: each other model vs ``reference`` (official, where it is measured), and the
    reference's fast path vs its plain loop."""
    fps = {(r.model, r.mode): r.fps for r in rows}
    others = dict.fromkeys(r.model for r in rows if r.model != reference)
    pairs = [((m, a), (reference, b)) for m in others for a, b in (("stream", "stream"), ("stream", "pair"),
                                                                      ("video", "video"))]
    pairs.append(((reference, "stream"), (reference, "pair")))
    return [Speedup(rows[0].size, f"{a[0]} {a[1]} / {b[0]} {b[1]} frames/s", fps[a] / fps[b])
            for a, b in pairs if a in fps and b in fps]


HEADER = (f"{'size':>10} {'model':>9} {'mode':>19} {'fps':>8} {'ms/frame':>9} {'GFLOPs':>8} "
          f"{'GFLOP/s':>8} {'util':>6} {'peak RSS':>9}")


def format_row(row: Row) -> str:
    return (f"{row.size:>10} {row.model:>9} {row.mode:>19} {row.fps:8.3f} {row.ms_per_frame:9.1f} "
            f"{row.gflops_per_frame:8.2f} {row.achieved_gflops:8.1f} {100 * row.utilisation:5.1f}% "
            f"{row.peak_rss_mb:7.0f}MB")


def write_report(report: dict, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
