"""Metrics agree with hand computation and scikit-image; temporal metrics see motion-consistent vs flickering clips."""
import math

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from llve.core.image import float_to_uint8, mean_luma_255
from llve.evaluate import metrics
from llve.flow.dis import DISBackend


def _texture(h=64, w=80, seed=0):
    """A smooth random texture (DIS needs texture to find motion)."""
    import cv2
    rng = np.random.default_rng(seed)
    noise = rng.random((h // 4, w // 4, 3)).astype(np.float32)
    return (cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255).round().astype(np.uint8)


def test_psnr_hand_computed():
    a = np.zeros((4, 6, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 12  # one pixel off by 12 out of 72 values: mse = 144 / 72 = 2
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 2.0), abs=1e-12)
    assert metrics.psnr(a, a + 5) == pytest.approx(34.15140352195873, abs=1e-9)  # 10 log10(65025 / 25)


def test_identical_images_give_inf_and_one():
    img = _texture()
    assert metrics.psnr(img, img) == math.inf
    assert metrics.ssim(img, img) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    a = _texture(48, 56, seed)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=255, channel_axis=-1)
    ours = metrics.ssim(a, b)
    assert abs(ours - ref) < 1e-3
    assert ours < 0.95  # the noise is visible: a broken SSIM returning ~1 would fail here


def test_ssim_grayscale_and_too_small():
    a = _texture()[..., 0]
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(Exception, match="at least 11x11"):
        metrics.ssim(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))


def test_to_uint8_clips_and_rounds():
    x = np.array([-0.2, 0.0, 0.5 / 255, 1.5 / 255, 0.998, 1.7])
    assert float_to_uint8(x).tolist() == [0, 0, 0, 2, 254, 255]  # round half to even, like torch.round


def test_metrics_refuse_float_and_mismatched():
    with pytest.raises(TypeError):
        metrics.psnr(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))
    with pytest.raises(ValueError):
        metrics.psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))


def _shifted_clip(n=4, shift=2):
    big = _texture(64, 80 + n * shift)
    return [np.ascontiguousarray(big[:, i * shift: i * shift + 80]) for i in range(n)]


def test_warping_error_static_clip_is_zero():
    frame = _texture()
    flow = DISBackend().flows
    fwd, bwd = flow(frame, frame)
    assert metrics.warping_error(frame, frame, fwd, bwd) < 1e-6


def test_warping_error_sees_flicker_not_motion():
    clip = _shifted_clip()
    flow = DISBackend().flows
    rng = np.random.default_rng(3)
    consistent, noisy = [], []
    for t in range(len(clip) - 1):
        fwd, bwd = flow(clip[t], clip[t + 1])
        assert metrics.valid_flow_mask(fwd, bwd).mean() > 0.5
        # Frame t+1 shows content 2 px further right, so it moved 2 px left: flow x = -2.
        assert np.median(fwd[..., 0]) == pytest.approx(-2.0, abs=0.25)
        consistent.append(metrics.warping_error(clip[t], clip[t + 1], fwd, bwd))
        jitter = np.clip(clip[t + 1].astype(int) + rng.integers(-30, 30, clip[t].shape), 0, 255).astype(np.uint8)
        noisy.append(metrics.warping_error(clip[t], jitter, fwd, bwd))
    assert max(consistent) < 2e-3
    assert min(noisy) > 5 * max(consistent)


def test_occluded_pixels_are_masked():
    fwd = np.zeros((10, 10, 2), np.float32)
    bwd = np.zeros((10, 10, 2), np.float32)
    bwd[:, :5] = 5.0  # round trip fails on the left half
    fwd[:, 8:, 0] = 4.0  # lands outside the frame on the right
    mask = metrics.valid_flow_mask(fwd, bwd)
    assert not mask[:, :5].any() and not mask[:, 8:].any() and mask[:, 5:8].all()


def test_brightness_flicker():
    steady = [mean_luma_255(f) for f in _shifted_clip()]
    flickering = [mean_luma_255(np.clip(f.astype(int) + d, 0, 255).astype(np.uint8))
                  for f, d in zip(_shifted_clip(), (0, 20, 0, 20))]
    assert metrics.brightness_flicker(steady) < 2.0
    assert metrics.brightness_flicker(flickering) > 15.0
    assert metrics.brightness_flicker([3.0]) is None
    assert mean_luma_255(np.full((2, 2, 3), [100, 0, 0], np.uint8)) == pytest.approx(29.9)


def test_streaming_and_protocol_conversions_agree():
    # tensor_to_uint8 (what `llve enhance` writes: OpenCV for CPU float32 frames in either layout, torch for the
    # others) must round exactly like the protocol's numpy one.
    import torch

    from llve.core.image import tensor_to_uint8 as torch_to_uint8

    values = np.concatenate([np.random.default_rng(0).uniform(-0.1, 1.1, 3000),
                             (np.arange(256) + 0.5) / 255.0]).astype(np.float32)  # half-way points included
    image = values[: 3 * 1085].reshape(31, 35, 3)
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
    for frame in (tensor, tensor.contiguous(), tensor.double()):
        assert np.array_equal(torch_to_uint8(frame), float_to_uint8(image))


def _textured(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(40, 200, (24, 32, 3)).astype(np.uint8), (128, 96), interpolation=cv2.INTER_NEAREST)
    base[:, :48] = 120  # a flat area beside the texture
    return base


def test_detail_ratio_is_one_for_the_truth_below_for_blur_and_blind_to_brightness():
    gt = _textured()
    assert metrics.detail_ratio(gt, gt) == pytest.approx(1.0)
    assert metrics.detail_ratio(cv2.GaussianBlur(gt, (0, 0), 2.0), gt) < 0.5
    darker = (gt.astype(np.float32) * 0.6).round().astype(np.uint8)
    assert metrics.detail_ratio(darker, gt) == pytest.approx(1.0, abs=0.03)


def test_black_lift_is_zero_for_the_truth_positive_for_haze_and_blind_to_brightness():
    gt = _textured()
    gt[:20, :48] = 5  # a black patch beside the flat grey and the texture
    assert metrics.black_lift(gt, gt) == pytest.approx(0.0)
    hazy = (gt.astype(np.float32) * 0.8 + 0.2 * gt.mean()).round().astype(np.uint8)  # same mean, blacks lifted
    assert metrics.black_lift(hazy, gt) > 10
    crushed = np.clip(gt.astype(np.float32) * 1.2 - 0.2 * gt.mean(), 0, 255).round().astype(np.uint8)
    assert metrics.black_lift(crushed, gt) < -3
    darker = (gt.astype(np.float32) * 0.6).round().astype(np.uint8)  # the exposure alone is not a lift
    assert abs(metrics.black_lift(darker, gt)) < 1.5


def test_black_level_reads_the_darkest_twentieth_of_luma():
    img = np.full((20, 20, 3), 200, np.uint8)
    img[:2] = 10                                          # 10% of the frame at luma 10
    assert metrics.black_level(img) == pytest.approx(10.0)
    img[:2] = (30, 0, 0)                                  # pure red of luma 0.299 * 30
    assert metrics.black_level(img) == pytest.approx(0.299 * 30, abs=0.01)
    img[:1] = 200                                         # only 5% dark: the 5th percentile sits between
    assert 0.299 * 30 < metrics.black_level(img) < 200


def test_colourfulness_is_one_for_the_truth_below_for_pale_and_blind_to_brightness():
    gt = _textured()
    assert metrics.colourfulness(gt, gt) == pytest.approx(1.0)
    grey = np.repeat((gt.astype(np.float32) @ np.float32(metrics.LUMA_WEIGHTS))[..., None], 3, axis=2)
    pale = (0.5 * gt + 0.5 * grey).round().astype(np.uint8)
    assert metrics.colourfulness(pale, gt) == pytest.approx(0.5, abs=0.03)
    assert metrics.colourfulness(grey.round().astype(np.uint8), gt) < 0.05
    darker = (gt.astype(np.float32) * 0.6).round().astype(np.uint8)
    assert metrics.colourfulness(darker, gt) == pytest.approx(1.0, abs=0.03)


def test_flat_noise_sees_noise_on_flat_areas_and_not_texture():
    gt = _textured()
    noisy = np.clip(gt + np.random.default_rng(1).normal(0, 6, gt.shape), 0, 255).astype(np.uint8)
    assert metrics.flat_noise(gt, gt) < 0.5
    assert metrics.flat_noise(noisy, gt) > 3 * max(metrics.flat_noise(gt, gt), 0.3)
