"""The exposure decision: parsing, the auto curve, temporal smoothing, scene cuts and the feedback loop."""
import math

import numpy as np
import pytest
import torch

from llve.core.image import srgb_to_linear
from llve.core.image import tensor_mean_luma_unit as stream_mean_luma
from llve.models import Decomposition
from llve.stream.exposure import (
    AUTO_RANGE,
    CALIBRATION_TOLERANCE,
    CUT_RATIO,
    LIT_GAIN,
    LIT_LEVEL,
    LIT_SHARE,
    MAX_GAIN,
    RECENT_FRAMES,
    ExposureController,
    auto_target,
    lit_share,
    metered_luma,
    parse_exposure,
    reachable,
)


def flat(level: float, size: int = 32) -> np.ndarray:
    return np.full((size, size, 3), round(level * 255), np.uint8)


def test_parse_exposure_accepts_auto_and_unit_values_only():
    assert parse_exposure("auto") == "auto" and parse_exposure(None) == "auto" and parse_exposure(" AUTO ") == "auto"
    assert parse_exposure("0.3") == pytest.approx(0.3)
    for bad in ("0", "1", "1.5", "-0.2", "bright", "nan"):
        with pytest.raises(ValueError, match="exposure"):
            parse_exposure(bad)


def test_auto_target_rises_with_the_scene_and_stays_bounded():
    scenes = [1 / 255, 3 / 255, 10 / 255, 30 / 255, 61 / 255, 120 / 255, 250 / 255]
    targets = [auto_target(s) for s in scenes]
    assert all(b >= a for a, b in zip(targets, targets[1:]))
    assert targets[0] < targets[-1]
    assert all(AUTO_RANGE[0] <= t <= AUTO_RANGE[1] for t in targets)
    assert AUTO_RANGE[0] * 255 >= 80 and AUTO_RANGE[1] * 255 <= 170  # the band of natural exposures


def lit_night(lights: float, size: int = 100) -> np.ndarray:
    """A dark frame (30/255) whose top rows are replaced by lights at 250/255, ``lights`` of its area."""
    frame = np.full((size, size, 3), 30, np.uint8)
    frame[: round(lights * size)] = 250
    return frame


def test_lit_share_counts_every_pixel_at_the_level_whatever_the_frame_brightest_value():
    """The share equals the luma of every pixel compared with the level, on frames whose brightest value lies
    below, at and above it: the shortcut for frames without lights changes no answer."""
    rng = np.random.default_rng(5)
    level = LIT_LEVEL * 255
    for top in (200, 229, 230, 255):
        frame = rng.integers(0, top + 1, (64, 96, 3), dtype=np.uint8)
        frame[rng.random((64, 96)) < 0.1] = top  # some pixels at the frame's brightest value in every channel
        expected = float(np.mean(frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) >= level))
        assert lit_share(frame) == pytest.approx(expected, abs=1e-12)
        assert (lit_share(frame) > 0) == (top >= 230)
    assert lit_share(np.zeros((0, 4, 3), np.uint8)) == 0.0


def test_a_lit_night_is_lifted_at_most_lit_gain_and_the_cap_sets_in_smoothly():
    night = lit_night(0.15)  # mean 63/255, as a lit city night
    mean = metered_luma(night)
    assert lit_share(night) == pytest.approx(0.15) and lit_share(flat(mean)) == 0
    assert auto_target(mean) == AUTO_RANGE[1]                    # without its lights it would go to the band's top
    lit_ctrl, plain_ctrl = ExposureController("auto"), ExposureController("auto")
    assert lit_ctrl.request(night).target == pytest.approx(LIT_GAIN * mean)
    assert plain_ctrl.request(flat(mean)).target == AUTO_RANGE[1]
    assert lit_ctrl.summary().lit_frames == 1 and "lights" in lit_ctrl.describe()
    assert plain_ctrl.summary().lit_frames == 0 and "lights" not in plain_ctrl.describe()
    shares = np.linspace(0, 2 * LIT_SHARE, 41)
    targets = [auto_target(mean, share) for share in shares]
    assert np.all(np.diff(targets) <= 1e-12) and np.abs(np.diff(targets)).max() < 0.1 * (targets[0] - targets[-1])
    assert auto_target(0.05, 1.0) == AUTO_RANGE[0]               # a dark scene with a lamp keeps the band's floor


def test_a_passing_headlight_barely_moves_a_dark_scenes_target():
    """The share of lights is averaged over time like the brightness: three frames with a lamp in them (mean
    unchanged, so no cut) lower the target a little, and it comes back."""
    ctrl = ExposureController("auto")
    dark, lamp = flat(0.06, 100), flat(0.06, 100)
    lamp[:4] = 250       # 4% of the frame at full brightness ...
    lamp[4:] = 6         # ... the rest darker: the same mean luma, so the lamp is no scene cut
    assert abs(metered_luma(lamp) - metered_luma(dark)) < 0.003
    targets = [ctrl.request(frame).target for frame in [dark] * 10 + [lamp] * 3 + [dark] * 60]
    assert targets[12] < targets[9]                      # the lamp counts ...
    assert targets[9] - min(targets) < 0.03              # ... a little (the cap alone would take it to the floor)
    assert targets[-1] == pytest.approx(targets[9], abs=0.002)


def test_a_brightness_step_moves_the_target_smoothly_and_boundedly():
    ctrl = ExposureController("auto")
    levels = [0.06] * 20 + [0.12] * 60  # the light doubles: no cut (factor < CUT_RATIO)
    targets = [ctrl.request(flat(v)).target for v in levels]
    steps = np.abs(np.diff(targets))
    final = auto_target(metered_luma(flat(0.12)))
    assert final > targets[19] + 0.05                       # a real change of target ...
    assert targets[19] == pytest.approx(auto_target(metered_luma(flat(0.06))))
    assert steps.max() < 0.25 * (final - targets[19])      # no jump: the change is spread over many frames
    assert np.all(np.diff(targets[19:]) >= -1e-12)          # and monotone (no overshoot, no pumping)
    assert targets[-1] == pytest.approx(final, abs=0.003)   # it gets there
    assert not any(r.cut for r in ctrl.recent) and ctrl.summary().cuts == 0


def test_a_scene_cut_resets_the_target_at_once():
    ctrl = ExposureController("auto")
    for _ in range(10):
        ctrl.request(flat(0.01))
    record = ctrl.request(flat(0.01 * CUT_RATIO * 4))
    assert record.cut
    assert record.target == pytest.approx(auto_target(metered_luma(flat(0.01 * CUT_RATIO * 4))))


def test_auto_lifts_a_scene_no_more_than_a_cameras_gain_so_black_stays_black():
    """Black leaders, fades and a covered lens became flat grey frames (92/255, the band's floor): auto now lifts a
    scene at most MAX_GAIN times in linear light, while every scene from about 3.5/255 up keeps the band."""
    assert reachable(0.0) == 0.0
    for level in (0.5, 1, 2, 3):
        assert reachable(level / 255) < AUTO_RANGE[0]
        assert srgb_to_linear(reachable(level / 255)) == pytest.approx(srgb_to_linear(level / 255) * MAX_GAIN)
    assert all(reachable(level / 255) >= AUTO_RANGE[0] for level in (3.6, 6.8, 12, 61))
    ctrl = ExposureController("auto")
    assert max(ctrl.request(flat(0)).target for _ in range(3)) < 0.02
    scene = ctrl.request(flat(0.05))  # the clip after its black leader: a cut, and the curve's own target
    assert scene.cut and scene.target == pytest.approx(auto_target(metered_luma(flat(0.05))))
    assert ExposureController(0.4).request(flat(0)).target == 0.4  # a fixed target is honoured as asked


def test_feedback_lands_the_output_on_a_fixed_target():
    """A network that delivers 70% of what it is asked for still ends on target: calibration + integral feedback."""
    ctrl = ExposureController(0.3)
    delivered = []
    for i in range(12):
        record = ctrl.request(flat(0.05))
        assert record.calibrate == (i == 0)
        out = 0.7 * ctrl.ask(record)
        if record.calibrate:
            ctrl.observe(record, out, gain=1.0)
            out = 0.7 * ctrl.ask(record)
        ctrl.observe(record, out)
        delivered.append(out)
    assert abs(delivered[0] - 0.3) < 0.01          # the first frame, decoded again after calibration
    assert all(abs(d - 0.3) < 0.01 for d in delivered)
    summary = ctrl.summary()
    assert summary.setting == "0.300" and summary.frames == 12 and summary.target_min == 0.3
    assert "exposure 0.300" in ctrl.describe()


def test_a_streams_first_frame_lands_so_close_that_the_second_does_not_step():
    """The feedback takes up the first frame's remaining miss on the second frame, so that miss is a step in
    brightness: a 1% miss read as 1.4x the input's own flicker on a steady real clip. Calibration goes on until
    CALIBRATION_TOLERANCE."""
    def network(exposure: float) -> Decomposition:  # answers a little low and not proportionally, as trained ones
        y = torch.full((1, 3, 8, 8), 0.93 * exposure ** 1.07)
        return Decomposition(y, 2 * y, torch.full_like(y, 0.5))  # S below the highlight knee

    ctrl, delivered = ExposureController("auto"), []
    for _ in range(3):
        record = ctrl.request(flat(0.05))
        delivered.append(stream_mean_luma(ctrl.expose(record, network, lambda d: stream_mean_luma(d.y)).y))
    assert abs(math.log(delivered[0] / record.target)) <= CALIBRATION_TOLERANCE <= 0.003
    assert max(abs(math.log(b / a)) for a, b in zip(delivered, delivered[1:])) <= 0.003


def test_the_log_says_when_auto_brightened_an_input_that_was_not_dark():
    """Well-exposed footage (mean 72/255 and up) is lifted to the band like a dark clip; the log line says so."""
    for level, said in ((0.05, False), (0.5, True)):
        ctrl = ExposureController("auto")
        for _ in range(3):
            record = ctrl.request(flat(level))
            ctrl.observe(record, ctrl.ask(record))
        assert ("not dark" in ctrl.describe()) == said
        assert ctrl.summary().input_mean == pytest.approx(level, abs=0.005)
    fixed = ExposureController(0.4)
    fixed.observe(fixed.request(flat(0.5)), 0.4)
    assert "not dark" not in fixed.describe()  # a fixed exposure is the user's own choice


def test_the_correction_is_bounded():
    ctrl = ExposureController(0.5)
    for _ in range(30):
        record = ctrl.request(flat(0.05))
        ctrl.ask(record)
        ctrl.observe(record, 0.0)  # a network that never responds
    assert ctrl.recent[-1].requested <= min(0.98, 0.5 * 2.0) + 1e-9
    assert math.isfinite(ctrl.correction)


def test_a_long_stream_keeps_a_bounded_window_and_a_summary_of_every_frame():
    """The README promises memory that does not grow with video length: the controller keeps the last
    RECENT_FRAMES decisions one by one and running totals, whose summary equals the one of every frame."""
    ctrl = ExposureController("auto")
    n = 3 * RECENT_FRAMES + 7
    levels = [0.02 + 0.01 * (i % 5) + (0.2 if i == RECENT_FRAMES else 0.0) for i in range(n)]  # one cut and back
    records = []
    for i, level in enumerate(levels):
        records.append(ctrl.request(flat(level)))
        ctrl.observe(records[-1], 0.3 + 0.001 * (i % 7))
    assert len(ctrl.recent) == RECENT_FRAMES and list(ctrl.recent) == records[-RECENT_FRAMES:]
    s = ctrl.summary()
    assert s.frames == n and s.cuts == sum(r.cut for r in records) >= 1
    assert (s.target_min, s.target_max) == (round(min(r.target for r in records), 4),
                                            round(max(r.target for r in records), 4))
    assert s.output_mean == pytest.approx(np.mean([r.output_luma for r in records]), abs=1e-4)
    assert s.input_mean == pytest.approx(np.mean([r.input_luma for r in records]), abs=1e-4)


def test_highlight_roll_off_is_the_identity_below_the_knee_smooth_monotone_and_below_the_ceiling():
    from llve.stream.exposure import HIGHLIGHT_CEILING, HIGHLIGHT_KNEE, roll_off_highlights

    s = torch.linspace(0, 1, 1001, dtype=torch.float64)
    out = roll_off_highlights(s)
    below = s <= HIGHLIGHT_KNEE
    assert torch.equal(out[below], s[below])
    assert torch.all(torch.diff(out) > 0)                                  # monotone: highlight detail kept
    assert float(out.max()) < HIGHLIGHT_CEILING and float(out.max()) > HIGHLIGHT_KNEE + 0.05
    slope = torch.diff(out) / torch.diff(s)
    knee = int(HIGHLIGHT_KNEE * 1000)
    assert abs(float(slope[knee + 1]) - 1.0) < 0.02                         # no kink at the knee
    # by hand at s = 1 (knee 0.90, ceiling 0.98): 0.90 + 0.08 * (1 - exp(-0.10 / 0.08))
    assert float(out[-1]) == pytest.approx(0.90 + 0.08 * (1 - math.exp(-0.10 / 0.08)))
