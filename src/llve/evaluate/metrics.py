"""Image metrics of the official protocol (PSNR, SSIM) and temporal-consistency metrics (warping error, flicker).

Scales, fixed here once and documented in ``docs/evaluation.md``:

* PSNR and SSIM take **uint8** images, exactly what the official test script scores: a float frame in [0, 1]
  becomes uint8 by :func:`to_uint8` (clip, x255, round). PSNR is computed in float64 with peak 255; identical
  images give ``inf``. SSIM uses an 11x11 Gaussian window (sigma 1.5), C1 = (0.01*255)^2, C2 = (0.03*255)^2,
  only the "valid" region (5-pixel border dropped), per channel, averaged over the three channels.
* The warping error is a mean squared difference of intensities in **[0, 1]** (not 0-255): multiply by 65025
  to get 8-bit units. Published E_warp numbers differ by orders of magnitude for exactly this reason.
* Brightness flicker is in 8-bit **luma units** (0-255), luma = 0.299 R + 0.587 G + 0.114 B.
* Detail and flat-region noise compare band-pass luma (difference of Gaussians, sigma 1 and 3) of an output with
  its ground truth's, after scaling the output to the ground truth's mean brightness (:func:`detail_ratio`,
  :func:`flat_noise`): a noise figure always comes with a detail figure, so smoothing cannot pass for restoration.
* Tone compares, at the same mean brightness, the output's darkest luma and its colour with the ground truth's
  (:func:`black_lift`, 8-bit levels; :func:`colourfulness`, a ratio): PSNR rewards a grey, pale picture where the
  truth is uncertain, and these say when it does.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from llve.core.errors import UserInputError
from llve.core.image import LUMA, haar_diagonal
from llve.flow.warp import valid_flow_mask, warp_np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = (0.01 * 255) ** 2
SSIM_C2 = (0.03 * 255) ** 2
LUMA_WEIGHTS = np.array(LUMA)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise TypeError(f"metrics take uint8 images (got {a.dtype}, {b.dtype}); convert with to_uint8")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (float64, peak 255); ``inf`` when they are identical."""
    _check_pair(a, b)
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def _ssim_channel(a: np.ndarray, b: np.ndarray, kernel: np.ndarray) -> float:
    def blur(x: np.ndarray) -> np.ndarray:
        # Separable Gaussian = the 2-D 11x11 window; the crop keeps only positions where it fits entirely.
        return cv2.sepFilter2D(x, cv2.CV_64F, kernel, kernel)[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_a ** 2 + mu_b ** 2 + SSIM_C1) * (var_a + var_b + SSIM_C2))
    return float(ssim_map.mean())


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two uint8 images (HxW or HxWx3), per channel and averaged; 1.0 for identical images."""
    _check_pair(a, b)
    if a.shape[0] < SSIM_WINDOW or a.shape[1] < SSIM_WINDOW:
        raise UserInputError(f"SSIM needs frames of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got "
                             f"{a.shape[1]}x{a.shape[0]}")
    kernel = cv2.getGaussianKernel(SSIM_WINDOW, SSIM_SIGMA, cv2.CV_64F)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if a.ndim == 2:
        return _ssim_channel(a64, b64, kernel)
    return float(np.mean([_ssim_channel(a64[..., c], b64[..., c], kernel) for c in range(a.shape[2])]))


def brightness_flicker(lumas: Sequence[float]) -> float | None:
    """Mean absolute change of mean luma between consecutive frames (8-bit units); None below two frames."""
    if len(lumas) < 2:
        return None
    return float(np.mean(np.abs(np.diff(np.asarray(lumas, dtype=np.float64)))))


def warping_error(out_t: np.ndarray, out_next: np.ndarray, forward: np.ndarray, backward: np.ndarray) -> float | None:
    """E_warp of one frame pair: sum_x M(x) * sum_c (O_t - W(O_t+1))^2 / (3 * sum_x M(x)), intensities in [0, 1].

    ``forward``/``backward`` are the flows t -> t+1 and t+1 -> t
    (:meth:`llve.flow.dis.DISBackend.flows`, on ground truth when available); M is
    :func:`~llve.flow.warp.valid_flow_mask`. Returns None when no pixel is valid.
    """
    mask = valid_flow_mask(forward, backward)
    if not mask.any():
        return None
    a = out_t.astype(np.float32) / 255.0
    b = warp_np(out_next.astype(np.float32) / 255.0, forward)  # frame t+1 aligned to frame t
    return float(np.mean((a - b)[mask].astype(np.float64) ** 2))


# --- No-reference measures of real footage (no ground truth): exposure, clipping, noise, relative flicker ---

CLIP_LEVEL = 250          # 8-bit value at or above which a pixel counts as clipped (any channel)
NOISE_REFERENCE = 128.0   # noise is measured after scaling the luma to this mean, so brightness does not count
NOISE_LEVEL = 2           # ... at the scale of 2x2 blocks (haar_noise)
FLICKER_FLOOR = 1e-3      # the least floor of relative_flicker (0.1% brightness change per frame)
NOISE_BLOCK = 16          # pixels: block means see noise correlated up to this size (codecs, blotches)
CHANGE_DETECTION = 3.0    # a change of brightness counts once it is 3x what the input's noise alone makes


def newly_clipped(inp: np.ndarray, out: np.ndarray, level: int = CLIP_LEVEL) -> float:
    """Fraction of pixels clipped in the output (a channel >= ``level``) that were not clipped in the input."""
    _check_pair(inp, out)
    return float(((out.max(axis=-1) >= level) & (inp.max(axis=-1) < level)).mean())


def haar_noise(image: np.ndarray, level: int = 2) -> float | np.ndarray:
    """Robust deviation of the noise in an HxW image at one wavelet scale, in its own units (HxWxC: per channel).

    The image is averaged over blocks of ``2^(level-1)`` pixels, cut into 2x2 blocks, and the Haar diagonal detail
    ``(a - b - c + d) / 2`` taken per block; ``median(|d|) / 0.6745`` (Donoho's MAD) is robust against edges, and
    the result is multiplied by ``2^(level-1)`` so that white Gaussian noise of deviation s reads s at every level.
    Level 1 (single pixels) is blind to noise two pixels wide or more, the blotches that denoisers, codecs and
    phone pipelines leave in dark video (it reads 0 for noise constant over 2x2 blocks), and a denoiser that
    posterises flat areas into constant 8-bit patches reads 0 there too. Level 2 (2x2 blocks) sees such blotches.
    """
    factor = 2 ** (level - 1)
    y = image.astype(np.float32)
    if factor > 1:
        y = cv2.resize(y, (y.shape[1] // factor, y.shape[0] // factor), interpolation=cv2.INTER_AREA)
    sigma = np.median(haar_diagonal(y).reshape(-1, *image.shape[2:]), axis=0) / 0.6745 * factor
    return float(sigma) if image.ndim == 2 else sigma


def noise_sigma(img: np.ndarray, reference: float = NOISE_REFERENCE, level: int = NOISE_LEVEL) -> float:
    """Noise level of an RGB uint8 frame: :func:`haar_noise` of its luma scaled to mean ``reference`` (so a
    brighter output is not called noisier for being brighter), at wavelet ``level`` (default 2: 2x2 blocks). In
    8-bit units at the reference brightness."""
    y = img.astype(np.float64) @ LUMA_WEIGHTS
    return haar_noise(y * (reference / max(float(y.mean()), 1e-6)), level)


def log_flicker(lumas: Sequence[float]) -> float | None:
    """Mean absolute change of log mean luma between consecutive frames; None below two frames."""
    if len(lumas) < 2:
        return None
    return float(np.mean(np.abs(np.diff(np.log(np.maximum(np.asarray(lumas, np.float64), 1e-3))))))


def noise_change(previous: np.ndarray, frame: np.ndarray, block: int = NOISE_BLOCK) -> float:
    """The change of log mean luma between two consecutive RGB frames that their noise alone makes.

    The frame difference is averaged over ``block`` x ``block`` blocks; the robust deviation of those block means
    (MAD: motion moves few blocks, noise moves all) divided by the square root of their number is the deviation
    of the whole frame's mean change, and sqrt(2/pi) of it its expected absolute value, taken relative to the
    mean luma. Blocks see noise that spans several pixels, which a per-pixel estimate would undercount.
    """
    _check_pair(previous, frame)
    a, b = previous.astype(np.float32) @ LUMA_WEIGHTS, frame.astype(np.float32) @ LUMA_WEIGHTS
    block = max(1, min(block, a.shape[0] // 2, a.shape[1] // 2))
    h, w = a.shape[0] // block * block, a.shape[1] // block * block
    means = (b[:h, :w] - a[:h, :w]).reshape(h // block, block, w // block, block).mean(axis=(1, 3))
    sigma = 1.4826 * float(np.median(np.abs(means - np.median(means))))
    return math.sqrt(2 / math.pi) * sigma / math.sqrt(means.size) / max(float(a.mean()), 1e-3)


def flicker_floor(noise_changes: Sequence[float]) -> float:
    """The floor of :func:`relative_flicker` for an input whose consecutive frames have these
    :func:`noise_change` values: ``CHANGE_DETECTION`` times their mean, at least ``FLICKER_FLOOR``."""
    return max(FLICKER_FLOOR, CHANGE_DETECTION * float(np.mean(noise_changes))) if noise_changes else FLICKER_FLOOR


def relative_flicker(input_lumas: Sequence[float], output_lumas: Sequence[float],
                     floor: float = FLICKER_FLOOR) -> float | None:
    """Output's log flicker over the input's, each at least ``floor``: ``max(F_out, floor) / max(F_in, floor)``.

    ``F`` is :func:`log_flicker`, so a global brightness gain does not change it; above 1.0 the enhancement
    flickers more than the footage it was given. ``floor`` (:func:`flicker_floor`) is the change the input's noise
    could make: an input steady within its noise is compared as if it changed by that much, so the ratio of two
    changes too small to see is 1 (as steady as the input), not an alarm. None below two frames.
    """
    f_in, f_out = log_flicker(input_lumas), log_flicker(output_lumas)
    if f_in is None or f_out is None:
        return None
    return max(f_out, floor) / max(f_in, floor)


BAND_SIGMAS = (1.0, 3.0)  # difference-of-Gaussians band: texture a few pixels wide, not edges of large objects
ENERGY_WINDOW = 9         # pixels: local band-pass energy is averaged over this square
TEXTURED_SHARE = 0.3      # the ground truth's most textured 30% of pixels are where detail is scored
FLAT_SHARE = 0.2          # its flattest 20% are where noise is scored


def _band(luma: np.ndarray) -> np.ndarray:
    fine, coarse = (cv2.GaussianBlur(luma, (0, 0), s) for s in BAND_SIGMAS)
    return fine - coarse


def _at_gt_brightness(out: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``out`` and ``gt`` as float32 RGB, ``out`` scaled so that its mean luma equals ``gt``'s: what is compared
    is then the picture, not the exposure."""
    _check_pair(out, gt)
    out_f, gt_f = out.astype(np.float32), gt.astype(np.float32)
    scale = float((gt_f @ np.float32(LUMA)).mean()) / max(float((out_f @ np.float32(LUMA)).mean()), 1e-3)
    return out_f * np.float32(scale), gt_f


def _band_pair(out: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band-pass luma of ``out`` (scaled to ``gt``'s mean brightness) and of ``gt``, and ``gt``'s local energy."""
    out_f, gt_f = _at_gt_brightness(out, gt)
    b_out, b_gt = _band(out_f @ np.float32(LUMA)), _band(gt_f @ np.float32(LUMA))
    return b_out, b_gt, cv2.blur(b_gt * b_gt, (ENERGY_WINDOW, ENERGY_WINDOW))


def detail_ratio(out: np.ndarray, gt: np.ndarray) -> float:
    """Band-pass energy of ``out`` over ``gt``'s where ``gt`` is textured (its most textured TEXTURED_SHARE of
    pixels): 1 keeps all the texture, below 1 smears it, above 1 adds noise or halos. uint8 RGB images."""
    b_out, b_gt, energy = _band_pair(out, gt)
    textured = energy >= np.quantile(energy, 1 - TEXTURED_SHARE)
    return float((b_out[textured] ** 2).sum() / max(float((b_gt[textured] ** 2).sum()), 1e-6))


def flat_noise(out: np.ndarray, gt: np.ndarray) -> float:
    """Noise left where ``gt`` is flattest (its least textured FLAT_SHARE of pixels): RMS band-pass luma of ``out``
    there, in 8-bit levels at ``gt``'s mean brightness, minus nothing (a clean output of a flat area scores ~0)."""
    b_out, _, energy = _band_pair(out, gt)
    flat = energy <= np.quantile(energy, FLAT_SHARE)
    return float(np.sqrt(np.mean(b_out[flat] ** 2)))


BLACK_SHARE = 5  # percent: the darkest part of a picture, whose level says whether blacks stay black


def black_level(img: np.ndarray) -> float:
    """The darkest BLACK_SHARE percent of an RGB uint8 frame's luma: its level (0-255), where a night's sky or a
    dark background sits; no reference needed."""
    return float(np.percentile(np.asarray(img, np.float32) @ np.float32(LUMA), BLACK_SHARE))  # no copy of a float frame


def black_lift(out: np.ndarray, gt: np.ndarray) -> float:
    """How far ``out``'s darkest BLACK_SHARE percent of luma stand above ``gt``'s, in 8-bit levels, with ``out``
    scaled to ``gt``'s mean brightness: 0 keeps the reference's blacks, above 0 lifts them towards grey (haze),
    below 0 crushes them. uint8 RGB images."""
    out_f, gt_f = _at_gt_brightness(out, gt)
    return black_level(out_f) - black_level(gt_f)


def _chroma(rgb: np.ndarray) -> float:
    """Mean distance of a pixel's colour from the grey of its luma (8-bit levels, RMS over the channels)."""
    return float(np.sqrt(((rgb - (rgb @ np.float32(LUMA))[..., None]) ** 2).mean(axis=-1)).mean())


def colourfulness(out: np.ndarray, gt: np.ndarray) -> float:
    """Chroma of ``out`` over ``gt``'s at the same mean brightness: 1 as colourful as the reference, below 1 paler,
    above 1 more saturated (or colour noise). uint8 RGB images; a grey reference counts as 1 level of chroma."""
    out_f, gt_f = _at_gt_brightness(out, gt)
    return _chroma(out_f) / max(_chroma(gt_f), 1.0)
