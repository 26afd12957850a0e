"""Exposure: what brightness the output should have, chosen per frame like a camera's auto-exposure.

The network's S term carries the illumination and takes a target mean brightness (``exposure``, the mean BT.601
luma of the output in (0, 1), sRGB-coded: 0.5 is 128/255). This module decides that target:

* a fixed value (``--exposure 0.45``): every frame is asked for it;
* ``auto``: the target follows the scene's own brightness on a bounded curve (:func:`auto_target`): a very dark
  room is lifted to a dim but readable level, a lit city night to a well-exposed night, never to daylight; and,
  like a camera's gain, never more than MAX_GAIN times in linear light (:func:`reachable`): black stays black. The
  scene brightness is smoothed over time (an exponential average in log space, ~1 s), so the output does not pump
  with every passing headlight; a scene cut (the input's brightness jumps by more than :data:`CUT_RATIO`) resets
  it at once.

Either way a slow integral feedback compares what the network delivered with what was asked and corrects the
request, so the output's mean lands on the target although the network only approximates its control. Whatever
the target, highlights are rolled off in S (:func:`roll_off_highlights`), so brightening clips nothing new.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from llve.core.image import LUMA, linear_to_srgb, mean_luma_unit, metering_step, srgb_to_linear
from llve.core.stageclock import stage
from llve.models import Decomposition

# auto's curve, target = clip(0.34 * (input / 0.03) ** 0.26, 0.36, 0.55), was fitted (least log error) to the
# brightness of the ground truths of the training parts of LOL and SICE: brighter scenes are shown brighter, a
# doubling of the input's mean raises the target 1.2x. The band keeps very dark clips readable (>= 92/255) and
# a lit night a night (<= 140/255). Fit: python scripts/fit_auto_exposure.py
# A frame whose lights are already at full brightness (LIT_SHARE of it at LIT_LEVEL or above) is a lit scene, not an
# underexposed one: auto lifts its mean at most LIT_GAIN times, so a night's dark sky stays dark. On the same
# references its mean |log error| is 0.011 higher on held-out SICE, 0.004 lower on its training part and 0.001
# higher on LOL (the script prints both).
AUTO_RANGE = (0.36, 0.55)     # auto targets stay in this band of mean output luma
AUTO_PIVOT = (0.03, 0.34)     # input mean luma 0.03 (~8/255) maps to 0.34 on the curve (then raised to the band) ...
AUTO_POWER = 0.26             # ... and the target grows as the input's mean to this power
LIT_LEVEL = 0.9               # luma of a light source (230/255) ...
LIT_SHARE = 0.02              # ... and the share of the frame at it from which the frame counts as lit (2%)
LIT_GAIN = 1.6                # a lit scene's mean is lifted at most this much (sRGB-coded, as the target)
SMOOTHING_FRAMES = 12.0       # time constant of the scene-brightness average, in frames (~0.5 s at 24 fps)
CUT_RATIO = 2.5               # a jump in input brightness by this factor (either way) is a scene cut
FEEDBACK_GAIN = 0.5           # share of the log error corrected per frame
MAX_CORRECTION = 2.0          # the request stays within target / 2 .. target * 2
CALIBRATION_TRIES = 3         # extra decodes of a stream's first frame (and the first after a cut) ...
CALIBRATION_TOLERANCE = 0.0025  # ... until it lands this close (log error, 0.25%): the feedback takes up the rest
                                # on the next frame, where a larger miss would show as a step in brightness
RECENT_FRAMES = 256           # decisions kept one by one; older frames count in the summary's totals only
NOT_DARK = 0.3                # an input brighter than this on average (77/255) is not low light: the log says so
MAX_GAIN = 100.0              # auto lifts a scene at most this much in linear light (the darkest training exposure)
HIGHLIGHT_KNEE = 0.90         # illumination S above this is rolled off smoothly ...
HIGHLIGHT_CEILING = 0.98      # ... towards this ceiling, which it never reaches (below the clipping level)


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


def _metering_grid(rgb: np.ndarray) -> np.ndarray:
    """Large frames on the metering grid (:func:`llve.core.image.metering_step`): plenty for a mean or a share,
    and cheap at 4K."""
    step = metering_step(*rgb.shape[:2])
    return rgb[::step, ::step]


def metered_luma(rgb: np.ndarray) -> float:
    """Mean BT.601 luma of an HxWx3 uint8 RGB frame in [0, 1]."""
    return mean_luma_unit(_metering_grid(rgb))


def lit_share(rgb: np.ndarray) -> float:
    """Share of an HxWx3 uint8 RGB frame whose luma is at LIT_LEVEL or above (its lights).

    Luma is a weighted mean of the channels, so a frame whose brightest value is below the level has no lights:
    most dark frames are settled by one ``max`` (0.3 ms at 960x512) instead of the luma of every pixel (4.9 ms)."""
    grid = _metering_grid(rgb)
    if not grid.size or int(grid.max()) < LIT_LEVEL * 255:
        return 0.0
    return float(np.mean(grid.astype(np.float32) @ LUMA >= LIT_LEVEL * 255))


def roll_off_highlights(s):
    """Illumination ``s`` (a tensor in [0, 1]) with a film-like shoulder: unchanged up to HIGHLIGHT_KNEE, then
    ``knee + (ceiling - knee) * (1 - exp(-(s - knee) / (ceiling - knee)))``, smooth (slope 1 at the knee),
    monotone, and below HIGHLIGHT_CEILING. ``y = r * s`` then cannot newly clip: bright regions keep their
    reflectance detail and colour at any exposure instead of saturating to white. Where nothing reaches the knee
    (most dark frames) ``s`` itself comes back: the formula gives it exactly there, and one reduction costs a fifth
    of its six full-frame passes."""
    if s.numel() and float(s.amax()) <= HIGHLIGHT_KNEE:
        return s
    span = HIGHLIGHT_CEILING - HIGHLIGHT_KNEE
    over = (s - HIGHLIGHT_KNEE).clamp_(min=0)  # in place from here on: four full-frame passes fewer (8 -> 2 ms)
    return s.clamp(max=HIGHLIGHT_KNEE).add_(over.div_(-span).expm1_().mul_(-span))


def rolled_off(d: Decomposition) -> Decomposition:
    """``d`` with its illumination's highlights rolled off (:func:`roll_off_highlights`): ``y = r * s`` then stays
    below the clipping level everywhere, also where the input was clipped: keeping the network's own white there
    leaves speckles of white among rolled-off pixels on noisy near-white skies."""
    s = roll_off_highlights(d.s)
    return Decomposition(d.r * s, d.r, s)


def auto_target(scene_luma: float, lit: float = 0.0) -> float:
    """The target for a scene of mean input luma ``scene_luma``: a power of the input, bounded by AUTO_RANGE.

    ``lit`` is the share of the scene at LIT_LEVEL or above: from LIT_SHARE on the target is at most LIT_GAIN times
    the scene's mean (never below the band), and between 0 and LIT_SHARE it moves there smoothly (in log), so a
    headlight crossing the frame does not switch the exposure.
    """
    curve = float(np.clip(AUTO_PIVOT[1] * (max(scene_luma, 1e-4) / AUTO_PIVOT[0]) ** AUTO_POWER, *AUTO_RANGE))
    capped = min(curve, max(AUTO_RANGE[0], LIT_GAIN * scene_luma))
    weight = min(max(lit, 0.0) / LIT_SHARE, 1.0)
    return float(math.exp((1 - weight) * math.log(curve) + weight * math.log(capped)))


def reachable(scene_luma: float) -> float:
    """The brightest target ``auto`` asks of a scene of mean input luma ``scene_luma``: the scene lifted MAX_GAIN
    times in linear light (sRGB-decoded), as a camera's gain has a ceiling. The network never saw a darker exposure
    than 1/MAX_GAIN, and below it there is little but noise to lift: black leaders and fades stay black instead
    of becoming grey frames, and a scene at 1/255 is asked for 49/255; from about 3.5/255 up, the AUTO_RANGE band
    holds (docs/exposure.md)."""
    linear = float(srgb_to_linear(np.float64(max(scene_luma, 0.0)))) * MAX_GAIN
    return float(linear_to_srgb(np.float64(min(linear, 1.0))))


@dataclass
class ExposureRecord:
    """One frame's decision: the input's brightness, the target, what the network was asked, what it delivered."""

    input_luma: float
    target: float
    requested: float = float("nan")
    output_luma: float = float("nan")
    cut: bool = False
    calibrate: bool = False   # first frame or first after a cut: decoded once more after the first try
    lit: bool = False         # auto lowered the target for the scene's lights (LIT_GAIN)


@dataclass(frozen=True)
class ExposureSummary:
    """What a stream's exposure chose, for the log and the output's metadata (None: no frames)."""

    setting: str
    frames: int
    target_min: float | None
    target_max: float | None
    output_mean: float | None
    input_mean: float | None
    cuts: int
    lit_frames: int = 0       # frames whose auto target the scene's lights lowered


@dataclass
class _Tally:
    """Running totals over every frame of a stream, so that the summary needs no per-frame list."""

    frames: int = 0
    cuts: int = 0
    target_min: float = math.inf
    target_max: float = -math.inf
    input_sum: float = 0.0
    output_sum: float = 0.0   # of the frames that left the window of recent records
    outputs: int = 0
    lit_frames: int = 0

    def add(self, record: ExposureRecord) -> None:
        self.frames, self.cuts, self.lit_frames = self.frames + 1, self.cuts + record.cut, self.lit_frames + record.lit
        self.target_min, self.target_max = min(self.target_min, record.target), max(self.target_max, record.target)
        self.input_sum += record.input_luma

    def add_output(self, record: ExposureRecord) -> None:
        if not math.isnan(record.output_luma):
            self.output_sum, self.outputs = self.output_sum + record.output_luma, self.outputs + 1


@dataclass
class ExposureController:
    """Per-stream state: the smoothed scene brightness, the feedback correction, running totals for the summary,
    and the decisions of the last RECENT_FRAMES frames (``recent``): memory does not grow with video length.

    Args:
        setting: ``auto`` or a fixed target in (0, 1).
    """

    setting: str | float = "auto"
    scene_log: float | None = None
    scene_lit: float = 0.0           # share of the scene's lights, smoothed like its brightness
    last_log: float = 0.0
    correction: float = 0.0          # log of request / target, learned by the feedback
    recent: deque[ExposureRecord] = field(default_factory=lambda: deque(maxlen=RECENT_FRAMES))
    tally: _Tally = field(default_factory=_Tally)

    def request(self, rgb: np.ndarray) -> ExposureRecord:
        """Decide frame ``rgb``'s target and the brightness to ask the network for."""
        luma = max(metered_luma(rgb), 1e-4)
        cut = self.scene_log is not None and abs(math.log(luma) - self.last_log) > math.log(CUT_RATIO)
        lights = lit_share(rgb) if self.setting == "auto" else 0.0
        if self.scene_log is None or cut:
            self.scene_log, self.scene_lit = math.log(luma), lights
        else:
            self.scene_log += (math.log(luma) - self.scene_log) / SMOOTHING_FRAMES
            self.scene_lit += (lights - self.scene_lit) / SMOOTHING_FRAMES
        self.last_log = math.log(luma)
        target, lit = self._target(math.exp(self.scene_log))
        if cut:
            self.correction = 0.0
        record = ExposureRecord(luma, target, cut=cut, calibrate=cut or not self.tally.frames, lit=lit)
        if len(self.recent) == self.recent.maxlen:  # its output is final long before it leaves the window
            self.tally.add_output(self.recent[0])
        self.recent.append(record)
        self.tally.add(record)
        return record

    def _target(self, scene: float) -> tuple[float, bool]:
        """The target for the smoothed scene brightness ``scene``, and whether its lights lowered it (by more than
        about 1/255)."""
        if self.setting != "auto":
            return float(self.setting), False
        target = min(auto_target(scene, self.scene_lit), reachable(scene))
        return target, target < min(auto_target(scene), reachable(scene)) - 0.005

    def ask(self, record: ExposureRecord) -> float:
        """The brightness to ask the network for, for ``record``'s frame: its target, corrected by the feedback."""
        record.requested = float(np.clip(record.target * math.exp(self.correction), 0.02, 0.98))
        return record.requested

    def observe(self, record: ExposureRecord, output_luma: float, gain: float = FEEDBACK_GAIN) -> bool:
        """Learn from the mean luma (0-1) the network delivered for ``record``'s frame; return True when the frame
        missed its target by more than CALIBRATION_TOLERANCE.

        ``gain=1`` corrects the whole brightness error at once: used to calibrate on a stream's first frame (and
        after a cut), which is then decoded again, so single images land on their target too.
        """
        record.output_luma = output_luma
        error = math.log(record.target) - math.log(max(output_luma, 1e-4))
        limit = math.log(MAX_CORRECTION)
        self.correction = float(np.clip(self.correction + gain * error, -limit, limit))
        return abs(error) > CALIBRATION_TOLERANCE

    def expose(self, record: ExposureRecord, decompose: Callable[[float], Decomposition],
               delivered: Callable[[Decomposition], float]) -> Decomposition:
        """``decompose(brightness)`` at the brightness asked for ``record``'s frame, highlights rolled off
        (:func:`rolled_off`), and learn from what ``delivered`` measures of the result (the mean luma of the
        picture: the whole frame, or inside its letterbox bars). A stream's first frame and the first after a cut
        are decoded again (up to CALIBRATION_TRIES times) until they land within CALIBRATION_TOLERANCE."""
        with stage("network decoders"):
            d = decompose(self.ask(record))
        with stage("roll-off"):
            d = rolled_off(d)
        tries = CALIBRATION_TRIES if record.calibrate else 0
        while self._missed(record, d, delivered, gain=1.0 if tries else FEEDBACK_GAIN) and tries:
            tries -= 1
            with stage("calibration"):
                d = rolled_off(decompose(self.ask(record)))
        return d

    def _missed(self, record: ExposureRecord, d: Decomposition, delivered: Callable[[Decomposition], float],
                gain: float) -> bool:
        with stage("exposure metering"):
            return self.observe(record, delivered(d), gain)

    def summary(self) -> ExposureSummary:
        """What was chosen, over every frame of the stream."""
        t = self.tally
        delivered = [r.output_luma for r in self.recent if not math.isnan(r.output_luma)]
        outputs = t.outputs + len(delivered)
        return ExposureSummary(
            setting=self.setting if isinstance(self.setting, str) else f"{self.setting:.3f}", frames=t.frames,
            target_min=round(t.target_min, 4) if t.frames else None,
            target_max=round(t.target_max, 4) if t.frames else None,
            output_mean=round((t.output_sum + math.fsum(delivered)) / outputs, 4) if outputs else None,
            input_mean=round(t.input_sum / t.frames, 4) if t.frames else None, cuts=t.cuts, lit_frames=t.lit_frames)

    def describe(self) -> str:
        s = self.summary()
        if not s.frames:
            return f"exposure {s.setting}: no frames"
        low, high = f"{s.target_min:.2f}", f"{s.target_max:.2f}"
        span = low if low == high else f"{low}-{high}"
        output = "none" if s.output_mean is None else f"{s.output_mean:.2f}"
        text = (f"exposure {s.setting}: target {span}, delivered mean {output} "
                f"over {s.frames} frame(s), {s.cuts} scene cut(s)")
        if s.lit_frames:
            text += (f"; {s.lit_frames} frame(s) held lights, and auto lifted them at most {LIT_GAIN:g}x to keep the "
                     f"night a night")
        if s.setting == "auto" and s.input_mean >= NOT_DARK:
            text += (f"; the input is not dark (mean {255 * s.input_mean:.0f}/255), and auto treats it as low "
                     f"light: a fixed exposure keeps it nearer its own brightness")
        return text
