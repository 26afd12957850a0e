"""Exposure: what brightness the output should have, chosen per frame like a camera's auto-exposure.

The network's S term carries the illumination and takes a target mean brightness (``exposure``, the mean BT.601
luma of the output in (0, 1), sRGB-coded: 0.5 is 128/255). This module decides that target:

* a fixed value (``--exposure 0.45``): every frame is asked for it;
* ``auto``: the target follows the scene's own brightness on a bounded curve (:func:`auto_target`): a very dark
  room is lifted to a dim but readable level, a lit city night to a well-exposed night, never to daylight. The
  scene brightness is smoothed over time (an exponential average in log space, ~1 s), so the output does not pump
  with every passing headlight; a scene cut (the input's brightness jumps by more than :data:`CUT_RATIO`) resets
  it at once. Like a camera's highlight-weighted metering, ``auto`` also lowers its target (never below the
  curve's floor) while the output would clip more than :data:`CLIP_BUDGET` of pixels that were not clipped in
  the input, and gives the brightness back slowly once the highlights are safe.

Either way a slow integral feedback compares what the network delivered with what was asked and corrects the
request, so the output's mean lands on the target although the network only approximates its control.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from llve.data.low_light_camera import mean_luma as frame_mean_luma

AUTO_RANGE = (0.32, 0.55)     # auto targets stay in this band of mean output luma
AUTO_PIVOT = (0.03, 0.45)     # input mean luma 0.03 (~8/255) maps to target 0.45 ...
AUTO_SLOPE = 0.035            # ... and each doubling of the input's brightness adds this much
SMOOTHING_FRAMES = 12.0       # time constant of the scene-brightness average, in frames (~0.5 s at 24 fps)
CUT_RATIO = 2.5               # a jump in input brightness by this factor (either way) is a scene cut
FEEDBACK_GAIN = 0.5           # share of the log error corrected per frame
MAX_CORRECTION = 2.0          # the request stays within target / 2 .. target * 2
CLIP_LEVEL = 250 / 255        # a pixel with a channel at or above this is clipped
CLIP_BUDGET = 0.002           # auto lowers its target while more than this share of pixels is newly clipped ...
HEADROOM_STEP = (0.85, 0.95)  # ... by this factor per calibration try / per streamed frame ...
HEADROOM_RECOVERY = 1.01      # ... and gives the brightness back this slowly once highlights are safe
CALIBRATION_TRIES = 3         # extra decodes of a stream's first frame (and the first after a cut)


def parse_exposure(value: str | float | None) -> str | float:
    """``auto`` or a target mean brightness in (0, 1); anything else is a ``ValueError`` naming the value."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return "auto"
    try:
        target = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"exposure must be 'auto' or a brightness between 0 and 1 (got '{value}')") from None
    if not 0.0 < target < 1.0 or math.isnan(target):
        raise ValueError(f"exposure must be 'auto' or a brightness between 0 and 1 (got {value})")
    return target


def mean_luma(rgb: np.ndarray) -> float:
    """Mean BT.601 luma of an HxWx3 uint8 RGB frame in [0, 1]; large frames on a grid of ~270 rows (plenty for a
    mean, and cheap at 4K)."""
    step = max(1, min(rgb.shape[:2]) // 270)
    return frame_mean_luma(rgb[::step, ::step])


def auto_target(scene_luma: float) -> float:
    """The target for a scene of mean input luma ``scene_luma``: log-linear in the input, bounded by AUTO_RANGE."""
    stops = math.log2(max(scene_luma, 1e-4) / AUTO_PIVOT[0])
    return float(np.clip(AUTO_PIVOT[1] + AUTO_SLOPE * stops, *AUTO_RANGE))


@dataclass
class ExposureRecord:
    """One frame's decision: the input's brightness, the target, what the network was asked, what it delivered."""

    input_luma: float
    target: float
    requested: float = float("nan")
    output_luma: float = float("nan")
    cut: bool = False
    calibrate: bool = False   # first frame or first after a cut: decoded once more after the first try


@dataclass
class ExposureController:
    """Per-stream state: the smoothed scene brightness, the feedback correction and the log of decisions.

    Args:
        setting: ``auto`` or a fixed target in (0, 1).
    """

    setting: str | float = "auto"
    scene_log: float | None = None
    last_log: float = 0.0
    correction: float = 0.0          # log of request / target, learned by the feedback
    headroom: float = 1.0            # auto's highlight protection: a factor <= 1 on the target
    records: list[ExposureRecord] = field(default_factory=list)

    def request(self, rgb: np.ndarray) -> ExposureRecord:
        """Decide frame ``rgb``'s target and the brightness to ask the network for."""
        luma = max(mean_luma(rgb), 1e-4)
        cut = self.scene_log is not None and abs(math.log(luma) - self.last_log) > math.log(CUT_RATIO)
        if self.scene_log is None or cut:
            self.scene_log = math.log(luma)
        else:
            self.scene_log += (math.log(luma) - self.scene_log) / SMOOTHING_FRAMES
        self.last_log = math.log(luma)
        if cut:
            self.correction, self.headroom = 0.0, 1.0
        record = ExposureRecord(luma, self._target(), cut=cut, calibrate=cut or not self.records)
        self.records.append(record)
        return record

    def _target(self) -> float:
        if self.setting != "auto":
            return float(self.setting)
        curve = auto_target(math.exp(self.scene_log))
        return max(curve * self.headroom, min(curve, AUTO_RANGE[0]))

    def ask(self, record: ExposureRecord) -> float:
        """The brightness to ask the network for, for ``record``'s frame: its target, corrected by the feedback."""
        record.requested = float(np.clip(record.target * math.exp(self.correction), 0.02, 0.98))
        return record.requested

    def observe(self, record: ExposureRecord, output_luma: float, output_clipped: float = 0.0,
                gain: float = FEEDBACK_GAIN) -> bool:
        """Learn from the mean luma (0-1) and the newly clipped share of pixels the network delivered for ``record``'s
        frame; return True when the frame missed (brightness off by more than 1%, or auto clipping highlights).

        ``gain=1`` corrects the whole brightness error at once: used to calibrate on a stream's first frame (and
        after a cut), which is then decoded again, so single images land on their target too.
        """
        record.output_luma = output_luma
        error = math.log(record.target) - math.log(max(output_luma, 1e-4))
        limit = math.log(MAX_CORRECTION)
        self.correction = float(np.clip(self.correction + gain * error, -limit, limit))
        clipping = self.setting == "auto" and output_clipped > CLIP_BUDGET
        floor = record.target <= AUTO_RANGE[0] + 1e-9
        if clipping and not floor:
            self.headroom *= HEADROOM_STEP[0] if gain >= 1 else HEADROOM_STEP[1]
            record.target = self._target()
        elif output_clipped < CLIP_BUDGET / 3:
            self.headroom = min(1.0, self.headroom * HEADROOM_RECOVERY)
        return abs(error) > 0.01 or (clipping and not floor)

    def summary(self) -> dict:
        """What was chosen, for the log and the output's metadata."""
        targets = [r.target for r in self.records]
        delivered = [r.output_luma for r in self.records if not math.isnan(r.output_luma)]
        return {"setting": self.setting if isinstance(self.setting, str) else f"{self.setting:.3f}",
                "frames": len(self.records),
                "target_min": round(min(targets), 4) if targets else None,
                "target_max": round(max(targets), 4) if targets else None,
                "output_mean": round(float(np.mean(delivered)), 4) if delivered else None,
                "cuts": sum(r.cut for r in self.records)}

    def describe(self) -> str:
        s = self.summary()
        if not s["frames"]:
            return f"exposure {s['setting']}: no frames"
        low, high = f"{s['target_min']:.2f}", f"{s['target_max']:.2f}"
        span = low if low == high else f"{low}-{high}"
        return (f"exposure {s['setting']}: target {span}, delivered mean {s['output_mean']:.2f} "
                f"over {s['frames']} frame(s), {s['cuts']} scene cut(s)")
