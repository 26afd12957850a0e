"""Letterbox and pillarbox bars: found only where they are, metered out of the exposure, and kept black."""
import numpy as np

from llve.run.enhancer import Enhancer
from llve.stream.letterbox import Picture, find_picture
from tests.conftest import synthetic_frames


def boxed(frame: np.ndarray, rows: int = 0, cols: int = 0) -> np.ndarray:
    out = frame.copy()
    out[:rows], out[out.shape[0] - rows:] = 0, 0
    out[:, :cols], out[:, out.shape[1] - cols:] = 0, 0
    return out


def test_bars_are_flat_dark_bands_of_about_the_same_thickness_on_opposite_sides():
    frame = np.clip(synthetic_frames(1, 60, 80)[0].astype(int) + 40, 0, 255).astype(np.uint8)
    assert find_picture(frame) is None
    assert find_picture(boxed(frame, rows=8)) == Picture(8, 52, 0, 80)
    assert find_picture(boxed(frame, cols=10)) == Picture(0, 60, 10, 70)
    assert find_picture(boxed(frame, rows=5, cols=6)) == Picture(5, 55, 6, 74)
    bars = boxed(frame, rows=8)
    bars[:8] = 16
    bars[:3, ::7] = 17  # an encoder's rounding in a limited-range black
    assert find_picture(bars) == Picture(8, 52, 0, 80)
    sky = frame.copy()
    sky[:10] = 0  # a dark flat band at the top only, as a clipped sky: no twin at the bottom, not a bar
    assert find_picture(sky) is None
    uneven = frame.copy()
    uneven[:12], uneven[-6:] = 0, 0
    assert find_picture(uneven) is None
    noisy = frame.copy()
    noisy[:8], noisy[-8:] = np.random.default_rng(0).integers(0, 8, (2, 8, 80, 3))  # dark but not flat
    assert find_picture(noisy) is None
    assert find_picture(np.zeros_like(frame)) is None  # a black frame is not all bars
    assert find_picture(boxed(frame, rows=1)) is None  # too thin to be a bar


def test_a_letterboxed_clip_keeps_black_bars_and_its_pictures_brightness():
    """The bars made ``auto`` meter a darker scene and the network lift them to a grey glow: on a DAVIS clip boxed
    to 2.5:1 the picture came out at 169/255 instead of 139 and the bars at 18 (up to 115)."""
    frames = [np.clip(f.astype(int) // 4, 0, 255).astype(np.uint8) for f in synthetic_frames(3, 64, 96)]
    plain = list(Enhancer(device="cpu").enhance_frames(frames))
    letterboxed = list(Enhancer(device="cpu").enhance_frames([boxed(f, rows=12) for f in frames]))
    for out, ref in zip(letterboxed, plain):
        assert out[:12].max() == 0 and out[-12:].max() == 0
        assert abs(out[12:-12].mean() - ref[12:-12].mean()) < 8


def test_the_noise_filters_see_the_picture_not_the_bars():
    """The spatial filter reads the noise where the frame is flattest, and bars are the flattest of all: seen
    whole, a boxed DAVIS clip's picture kept 1.7x the noise of the same clip unboxed. As a stage, the filter on a
    boxed frame gives its picture exactly what it gives the picture alone, and something else seen whole."""
    import torch

    from llve.models import Decomposition
    from llve.stream.spatial_filter import SpatialFilter
    from llve.stream.stages import InputTraits, inside_bars

    rng = np.random.default_rng(0)
    picture = np.clip(synthetic_frames(1, 64, 128)[0].astype(int) // 3 + rng.normal(0, 6, (64, 128, 3)), 1, 255)
    frame = np.zeros((96, 128, 3), np.uint8)
    frame[16:-16] = picture.astype(np.uint8)
    assert find_picture(frame) == Picture(16, 80, 0, 128)

    def decomposition(rgb):
        y = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None]
        s = torch.full_like(y, 0.5)
        return Decomposition(y * 0.5, y, s)  # R is the frame, S a flat half: y = r * s

    boxed_out = inside_bars(SpatialFilter())(decomposition(frame), InputTraits.of(frame))
    alone = SpatialFilter()(decomposition(frame[16:-16]))
    whole = SpatialFilter()(decomposition(frame))
    assert torch.allclose(boxed_out.r[..., 16:-16, :], alone.r, atol=1e-6)
    assert boxed_out.r[..., :16, :].abs().max() == 0  # the bars as they were
    assert not torch.allclose(whole.r[..., 16:-16, :], alone.r, atol=1e-3)  # seen whole, it filters otherwise
