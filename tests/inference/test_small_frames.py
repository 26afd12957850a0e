"""Any frame size: thin strips and tiny frames go through the whole stream (exposure control and both noise
filters of the bundled weights) and come out at their own size."""
import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llve.cli import main
from llve.run.enhancer import Enhancer
from tests.conftest import write_clip


@pytest.fixture(scope="module")
def bundled():
    return Enhancer(device="cpu")


def enhance_three(enhancer: Enhancer, h: int, w: int) -> list[np.ndarray]:
    rng = np.random.default_rng(h * 100 + w)
    return list(enhancer.enhance_frames(rng.integers(0, 40, (h, w, 3), dtype=np.uint8) for _ in range(3)))


@pytest.mark.parametrize("h, w", [(1, 1), (1, 64), (64, 1), (8, 8), (9, 17), (9, 64), (11, 320), (64, 10)])
def test_sizes_that_broke_a_noise_filter(bundled, h, w):
    out = enhance_three(bundled, h, w)
    assert [f.shape for f in out] == [(h, w, 3)] * 3 and all(f.dtype == np.uint8 for f in out)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40))
def test_every_size_from_1x1_to_40x40(bundled, h, w):
    assert [f.shape for f in enhance_three(bundled, h, w)] == [(h, w, 3)] * 3


@pytest.mark.slow
def test_llve_enhance_takes_a_thin_clip_and_a_one_pixel_image(tmp_path):
    rng = np.random.default_rng(0)
    clip = write_clip(tmp_path / "odd.mp4", [rng.integers(0, 40, (9, 17, 3), dtype=np.uint8) for _ in range(4)],
                      pix_fmt="yuv444p")
    cv2.imwrite(str(tmp_path / "one.png"), np.full((1, 1, 3), 20, np.uint8))
    assert main(["enhance", str(clip), "--quiet", "--device", "cpu"]) == 0
    assert main(["enhance", str(tmp_path / "one.png"), "--quiet", "--device", "cpu"]) == 0
    assert cv2.imread(str(tmp_path / "one_enhanced.png")).shape == (1, 1, 3)
