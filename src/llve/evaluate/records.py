"""The records of ``llve test``: one schema that :mod:`llve.evaluate.protocol` fills, :mod:`llve.evaluate.report` writes
(``metrics.json``, ``metrics.csv``, ``report.html``) and :mod:`llve.cli` prints. Field order is the JSON key order.

Scales and meanings are documented in ``docs/evaluation.md``; ``None`` means the metric does not apply (no
ground truth, a one-frame sequence). Means skip ``None`` values; an infinite PSNR makes its mean infinite, as the
official script's.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from llve.evaluate.config import EvalConfig

SCHEMA_VERSION = 5  # 2: no-reference measures (luma_input, clipped_new, noise, ...); 3: detail, flat_noise;
# 4: relative flicker against the input's noise (noise_change per frame, flicker_floor per sequence);
# 5: tone (black_level of the output; black_lift, colourfulness against the ground truth)


def _of_present(reduce):
    """``reduce`` over the values that are not None, as a float; None when there are none."""
    def apply(values: Iterable[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return float(reduce(present)) if present else None
    return apply


mean, least, most = _of_present(np.mean), _of_present(min), _of_present(max)


@dataclass
class FrameRecord:
    """One scored frame (a row of ``metrics.csv``)."""

    sequence: str
    index: int
    file: str
    psnr: float | None
    ssim: float | None
    luma: float
    luma_gt: float | None
    warp_error: float | None  # of the pair (t, t+1); filled when frame t+1 arrives
    runtime_s: float
    luma_input: float
    clipped_new: float
    noise: float
    black_level: float | None = None  # darkest 5% of the output's luma (0-255)
    detail: float | None = None      # band-pass energy kept where the ground truth is textured (1: all)
    flat_noise: float | None = None  # band-pass RMS where the ground truth is flat (8-bit levels)
    noise_change: float | None = None  # of the input from the previous frame (metrics.noise_change)
    black_lift: float | None = None  # darkest 5% of luma above the ground truth's (8-bit levels, same mean)
    colourfulness: float | None = None  # chroma over the ground truth's at the same mean (1: as colourful)


@dataclass(frozen=True)
class SequenceRecord:
    """One sequence: means over its frames and its temporal measures."""

    name: str
    frames: int
    psnr: float | None
    ssim: float | None
    flow_source: str | None  # "ground_truth" or "output"; None without temporal metrics
    warp_error: float | None
    warp_error_gt: float | None
    flicker: float | None
    flicker_gt: float | None
    runtime_per_frame_s: float | None
    exposure: float | None
    clipped_new: float | None
    noise: float | None
    relative_flicker: float | None
    black_level: float | None = None
    detail: float | None = None
    flat_noise: float | None = None
    flicker_floor: float | None = None  # metrics.flicker_floor of the input
    black_lift: float | None = None
    colourfulness: float | None = None


@dataclass(frozen=True)
class Summary:
    """The run: both averages the official script prints (of sequences, of frames) and the other measures."""

    sequences: int
    frames: int
    psnr_mean_of_sequences: float | None
    ssim_mean_of_sequences: float | None
    psnr_mean_of_frames: float | None
    ssim_mean_of_frames: float | None
    warp_error: float | None
    warp_error_gt: float | None
    flicker: float | None
    flicker_gt: float | None
    exposure: float | None
    exposure_min: float | None
    exposure_max: float | None
    clipped_new: float | None
    clipped_new_max: float | None
    noise: float | None
    relative_flicker: float | None
    relative_flicker_max: float | None
    runtime_per_frame_s: float | None
    runtime_first_frame_s: float | None
    black_level: float | None = None
    black_level_max: float | None = None
    detail: float | None = None
    flat_noise: float | None = None
    black_lift: float | None = None
    colourfulness: float | None = None

    @classmethod
    def of(cls, seqs: list[SequenceRecord], frames: list[FrameRecord], times: list[float]) -> Summary:
        return cls(
            sequences=len(seqs), frames=len(frames),
            psnr_mean_of_sequences=mean(s.psnr for s in seqs), ssim_mean_of_sequences=mean(s.ssim for s in seqs),
            psnr_mean_of_frames=mean(f.psnr for f in frames), ssim_mean_of_frames=mean(f.ssim for f in frames),
            warp_error=mean(s.warp_error for s in seqs), warp_error_gt=mean(s.warp_error_gt for s in seqs),
            flicker=mean(s.flicker for s in seqs), flicker_gt=mean(s.flicker_gt for s in seqs),
            exposure=mean(s.exposure for s in seqs), exposure_min=least(s.exposure for s in seqs),
            exposure_max=most(s.exposure for s in seqs), clipped_new=mean(s.clipped_new for s in seqs),
            clipped_new_max=most(s.clipped_new for s in seqs), noise=mean(s.noise for s in seqs),
            relative_flicker=mean(s.relative_flicker for s in seqs),
            relative_flicker_max=most(s.relative_flicker for s in seqs),
            black_level=mean(s.black_level for s in seqs), black_level_max=most(s.black_level for s in seqs),
            detail=mean(s.detail for s in seqs), flat_noise=mean(s.flat_noise for s in seqs),
            black_lift=mean(s.black_lift for s in seqs), colourfulness=mean(s.colourfulness for s in seqs),
            # The first frame carries one-off costs (allocation, cuDNN autotuning); it is reported on its own.
            runtime_per_frame_s=mean(times[1:] if len(times) > 1 else times),
            runtime_first_frame_s=times[0] if times else None)


@dataclass(frozen=True)
class RunInfo:
    """What was run, where, and under which protocol."""

    method: str
    arch: str | None
    weights: str | None
    device: str
    torch: str
    config: EvalConfig  # resolved, as written to config.yaml
    protocol: str


@dataclass
class Panel:
    """Thumbnails (uint8 RGB) for one frame of the report: input | output | R | S | ground truth."""

    sequence: str
    index: int
    images: dict[str, np.ndarray | None]


@dataclass
class Results:
    """Everything ``metrics.json`` holds, plus the report's panels."""

    meta: RunInfo | None = None
    summary: Summary | None = None
    sequences: list[SequenceRecord] = field(default_factory=list)
    frames: list[FrameRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
