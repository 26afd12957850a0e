"""Correspondence backends: DIS recovers a known motion, certainty rules, the disk cache, optional extras."""
import sys
import types

import cv2
import numpy as np
import pytest

from llve.core.errors import UserInputError
from llve.flow import BACKENDS, Correspondence, CorrespondenceConfig, build_backend, forward_backward_certainty
from llve.flow.cache import CorrespondenceCache
from llve.flow.learned import warp_to_correspondence


def _texture(h=64, w=96, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (3, 3), 0)


def _shifted(dx=3, dy=2, h=64, w=96):
    big = _texture(h + 20, w + 20)
    img1 = np.ascontiguousarray(big[10:10 + h, 10:10 + w])
    img2 = np.ascontiguousarray(big[10 - dy:10 - dy + h, 10 - dx:10 - dx + w])  # content moves by (dx, dy)
    return img1, img2


def test_dis_recovers_a_translation_and_rates_out_of_frame_pixels_zero():
    img1, img2 = _shifted(3, 2)
    c = build_backend(CorrespondenceConfig(backend="dis"))(img1, img2)
    assert c.flow12.shape == (64, 96, 2) and c.cert1.shape == (64, 96)
    inner = (slice(10, -10), slice(10, -10))
    assert np.median(c.flow12[inner][..., 0]) == pytest.approx(3, abs=0.3)
    assert np.median(c.flow12[inner][..., 1]) == pytest.approx(2, abs=0.3)
    assert np.median(c.flow21[inner][..., 0]) == pytest.approx(-3, abs=0.3)
    assert c.cert1[inner].mean() > 0.8
    # Frame-1 pixels in the last 3 columns move out of frame 2 (x + 3 > W - 1): certainty exactly 0.
    assert (c.cert1[:, -2:] == 0).all() and (c.cert2[:, :2] == 0).all()
    assert c.cert1.min() >= 0 and c.cert1.max() <= 1


def test_forward_backward_certainty_rules():
    flow = np.zeros((10, 12, 2), np.float32)
    flow[..., 0] = 1.0
    assert forward_backward_certainty(flow, -flow)[:, :-1].min() == pytest.approx(1.0)
    assert (forward_backward_certainty(flow, -flow)[:, -1] == 0).all()  # leaves the frame
    inconsistent = forward_backward_certainty(flow, flow)  # round trip error 2 px
    assert inconsistent[:, :-2].max() < 0.01


def test_cache_computes_each_pair_once_and_serves_both_directions(tmp_path):
    calls = []

    def backend(a, b):
        calls.append(1)
        return build_backend()(a, b)

    backend.name = "counting"
    img1, img2 = _shifted(2, 1)
    cache = CorrespondenceCache(backend, tmp_path)
    first = cache.get("ds", "seq/1", 4, 5, img1, img2)
    again = cache.get("ds", "seq/1", 4, 5, img1, img2)
    reverse = cache.get("ds", "seq/1", 5, 4, img2, img1)
    assert len(calls) == 1 and cache.computed == 1
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)  # fresh results are quantised exactly like stored ones
    np.testing.assert_array_equal(reverse.flow12, first.flow21)
    np.testing.assert_array_equal(reverse.cert2, first.cert1)
    assert len(list(tmp_path.rglob("*.npz"))) == 1
    # A new cache object (a new epoch or run) reads the file: still no backend call.
    fresh = CorrespondenceCache(backend, tmp_path)
    fresh.get("ds", "seq/1", 4, 5, img1, img2)
    assert fresh.computed == 0 and len(calls) == 1
    # Quantisation error is at most half a step.
    raw = build_backend()(img1, img2)
    assert np.abs(raw.flow12 - first.flow12).max() <= 1 / 64 + 1e-6


def test_cache_recomputes_a_damaged_entry(tmp_path):
    img1, img2 = _shifted()
    cache = CorrespondenceCache(build_backend(), tmp_path)
    cache.get("ds", "s", 0, 1, img1, img2)
    next(tmp_path.rglob("*.npz")).write_bytes(b"garbage")
    cache.get("ds", "s", 0, 1, img1, img2)
    assert cache.computed == 2


def test_unknown_backend_and_missing_extras_name_what_to_install(monkeypatch):
    with pytest.raises(UserInputError, match="unknown correspondence backend 'nope'"):
        build_backend(CorrespondenceConfig(backend="nope"))
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    monkeypatch.setitem(sys.modules, "torchvision.models.optical_flow", None)
    with pytest.raises(UserInputError, match=r"llve\[raft\]"):
        build_backend(CorrespondenceConfig(backend="raft", weights="x.pth"))
    monkeypatch.setitem(sys.modules, "romatch", None)
    with pytest.raises(UserInputError, match=r"llve\[roma\]"):
        build_backend(CorrespondenceConfig(backend="roma", weights="x.pth"))
    monkeypatch.setitem(sys.modules, "dkm", types.ModuleType("dkm"))  # the unrelated PyPI placeholder
    with pytest.raises(UserInputError, match="DKMv3_indoor"):
        build_backend(CorrespondenceConfig(backend="dkm", weights="x.pth"))
    assert set(BACKENDS) == {"dis", "raft", "roma", "dkm"}


def test_dkm_backend_needs_a_local_weights_file(monkeypatch, tmp_path):
    fake = types.ModuleType("dkm")
    fake.DKMv3_indoor = lambda **kw: pytest.fail("must not be built without weights")
    monkeypatch.setitem(sys.modules, "dkm", fake)
    with pytest.raises(UserInputError, match="weights file not found"):
        build_backend(CorrespondenceConfig(backend="dkm", weights=str(tmp_path / "missing.pth")))


def test_dense_matcher_warp_is_converted_to_pixel_flows():
    h, w = 8, 10
    xs = (np.arange(w) + 0.5) / w * 2 - 1  # align_corners=False normalised pixel centres
    ys = (np.arange(h) + 0.5) / h * 2 - 1
    gx, gy = np.meshgrid(xs, ys)
    shift = 2 * 2 / w  # two pixels in x
    left = np.stack([gx, gy, gx + shift, gy], -1)
    right = np.stack([gx - shift, gy, gx, gy], -1)  # (match in image 1, own position in image 2)
    c = warp_to_correspondence(np.concatenate([left, right], 1), np.full((h, 2 * w), 0.9), h, w)
    assert isinstance(c, Correspondence)
    np.testing.assert_allclose(c.flow12[..., 0], 2.0, atol=1e-4)
    np.testing.assert_allclose(c.flow21[..., 0], -2.0, atol=1e-4)
    np.testing.assert_allclose(c.flow12[..., 1], 0.0, atol=1e-4)
    assert c.cert1[:, :-2].min() == pytest.approx(0.9, abs=1e-6) and (c.cert1[:, -2:] == 0).all()
