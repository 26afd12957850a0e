"""No-reference measures of real footage against hand-computed values."""
import numpy as np
import pytest

from llve.core.image import mean_luma_255 as mean_luma
from llve.evaluate.baselines import BASELINES, gamma_nlm
from llve.evaluate.metrics import (
    flicker_floor,
    log_flicker,
    newly_clipped,
    noise_change,
    noise_sigma,
    relative_flicker,
)


def test_newly_clipped_counts_only_pixels_the_enhancement_clipped():
    inp = np.zeros((2, 2, 3), np.uint8)
    inp[0, 0] = 255                          # already clipped in the input: never counted
    out = np.full((2, 2, 3), 100, np.uint8)
    out[0, 0] = 255
    out[0, 1, 2] = 250                       # one channel at the level: clipped
    out[1, 0] = 249                          # just below
    assert newly_clipped(inp, out) == pytest.approx(1 / 4)


def test_noise_sigma_recovers_gaussian_noise_and_ignores_brightness():
    rng = np.random.default_rng(0)
    img = np.clip(np.round(128 + rng.normal(0, 6.0, (256, 256, 1))), 0, 255).repeat(3, -1).astype(np.uint8)
    assert noise_sigma(img) == pytest.approx(6.0, rel=0.06)
    dim = np.clip(np.round(64 + rng.normal(0, 3.0, (256, 256, 1))), 0, 255).repeat(3, -1).astype(np.uint8)
    assert noise_sigma(dim) == pytest.approx(6.0, rel=0.08)      # half the signal, half the noise: same at 128
    assert noise_sigma(np.full((64, 64, 3), 90, np.uint8)) == 0.0


def test_relative_flicker_by_hand():
    inp = [10.0, 20.0, 10.0]                   # |ln 2| twice
    out = [100.0, 100.0 * 2 ** 0.5, 100.0]     # |ln sqrt 2| twice
    assert log_flicker(inp) == pytest.approx(np.log(2))
    assert relative_flicker(inp, out) == pytest.approx(0.5)
    assert relative_flicker([5.0, 5.0], [50.0, 50.0]) == pytest.approx(1.0)   # steady in, steady out
    assert relative_flicker([5.0], [50.0]) is None
    # Changes below the floor count as none: steady within its noise in, 0.2% steps out, floor 0.3%.
    assert relative_flicker([30.4, 30.43, 30.4], [124.0, 124.25, 124.0], floor=0.003) == pytest.approx(1.0)
    assert relative_flicker([30.4, 30.43, 30.4], [124.0, 130.0, 124.0], floor=0.003) == pytest.approx(
        np.log(130 / 124) / 0.003)


def test_noise_change_is_what_noise_alone_moves_the_mean():
    """White noise of deviation 4 on 128x128 pixels at mean 40: the frame mean's change has deviation
    4 * sqrt(2) / 128, so |change| / 40 averages sqrt(2 / pi) * 4 * sqrt(2) / 128 / 40; motion does not count."""
    rng = np.random.default_rng(0)
    scene = np.full((128, 128, 3), 40.0)
    frames = [np.clip(scene + rng.normal(0, 4, scene.shape[:2])[..., None], 0, 255).round().astype(np.uint8)
              for _ in range(6)]
    expected = np.sqrt(2 / np.pi) * 4 * np.sqrt(2) / 128 / 40
    changes = [noise_change(a, b) for a, b in zip(frames, frames[1:])]
    assert np.mean(changes) == pytest.approx(expected, rel=0.25)
    moved = frames[1].copy()
    moved[:16, :16] = 200  # a bright thing enters one block
    assert noise_change(frames[0], moved) == pytest.approx(changes[0], rel=0.25)
    assert flicker_floor(changes) == pytest.approx(max(1e-3, 3 * np.mean(changes)))
    assert flicker_floor([]) == 1e-3


def test_gamma_nlm_brightens_and_removes_noise():
    rng = np.random.default_rng(1)
    x = np.linspace(0.02, 0.08, 96, dtype=np.float32)
    clean = np.repeat(np.repeat(x[None, :, None], 96, 0), 3, 2)
    noisy = np.clip(clean + rng.normal(0, 0.01, clean.shape).astype(np.float32), 0, 1)
    out = gamma_nlm(noisy)
    ref = BASELINES["gamma"](noisy)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert out.mean() > 3 * noisy.mean()

    def as8(a):
        return np.round(a * 255).astype(np.uint8)

    assert noise_sigma(as8(out)) < 0.5 * noise_sigma(as8(ref))


def test_exposure_gt_scores_each_sequence_at_its_ground_truths_brightness(sdsd_tree):
    """`exposure: gt` moves a targeted baseline's output to the ground truth's mean; auto does not."""
    from llve.data.eval_clips import DataConfig
    from llve.evaluate.protocol import EvalConfig, evaluate

    data = DataConfig(kind="sdsd", root=str(sdsd_tree), frames=None, size=None)
    runs = {e: evaluate(EvalConfig(data=data, method="gamma", temporal=False, gt_exposure=e == "gt"))
            for e in ("auto", "gt")}
    gap = {e: np.mean([abs(f.luma - f.luma_gt) for f in r.frames]) for e, r in runs.items()}
    assert gap["gt"] < 0.5 * gap["auto"]
    psnr = {e: next(q.psnr for q in r.sequences if q.name == "pairB") for e, r in runs.items()}
    assert psnr["gt"] > psnr["auto"]


def test_exposure_gt_scales_methods_without_a_brightness_control(sdsd_tree):
    """The GT-mean protocol: identity and a network without exposure control are scaled to the target."""
    import torch

    from llve.data.eval_clips import DataConfig
    from llve.evaluate.protocol import EvalConfig, evaluate, network_method
    from llve.models import FastSTCD, FastSTCDConfig
    from llve.run.enhancer import Enhancer

    data = DataConfig(kind="sdsd", root=str(sdsd_tree), frames=None, size=None)
    runs = {e: evaluate(EvalConfig(data=data, method="identity", temporal=False, gt_exposure=e == "gt"))
            for e in ("auto", "gt")}
    def gap(results) -> float:  # mean over sequences of |output mean - ground truth mean| (8-bit)
        return np.mean([abs(np.mean([f.luma - f.luma_gt for f in results.frames if f.sequence == s.name]))
                        for s in results.sequences])
    assert gap(runs["gt"]) < 0.2 * gap(runs["auto"])

    torch.manual_seed(0)
    net = FastSTCD(FastSTCDConfig(half_width=8, quarter_width=8, width=16, heads=2))
    run = network_method(Enhancer(model=net, device="cpu"))
    frames = [np.full((32, 32, 3), 20 + 5 * i, np.uint8) for i in range(3)]
    free = [o.y for _, o in run(enumerate(frames))]
    scaled = [o.y for _, o in run(enumerate(frames), 0.5)]
    assert all(abs(mean_luma(y) - 0.5) > 0.05 for y in free)
    assert all(abs(mean_luma(y) - 0.5) < 0.01 for y in scaled)


def test_noise_sigma_at_level_2_sees_blotches_that_single_pixels_miss():
    rng = np.random.default_rng(2)
    blotches = np.kron(rng.normal(0, 4.0, (128, 128)), np.ones((2, 2)))   # noise constant over 2x2 blocks
    img = np.clip(np.round(128 + blotches), 0, 255)[..., None].repeat(3, -1).astype(np.uint8)
    assert noise_sigma(img, level=1) == 0.0
    # block mean deviation 4, times 2 (the white-noise scale); 8-bit steps make the median move in steps of ~10%
    assert noise_sigma(img) == pytest.approx(8.0, rel=0.15)
    white = np.clip(np.round(128 + rng.normal(0, 6.0, (256, 256))), 0, 255)[..., None].repeat(3, -1)
    assert noise_sigma(white.astype(np.uint8), level=1) == pytest.approx(6.0, rel=0.06)
