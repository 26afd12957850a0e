"""Spatial noise reduction on R: an edge-preserving guided filter whose strength follows the frame's own noise.

What the network and the temporal filter leave in a dark clip is low-frequency: faint blotches 2-8 pixels wide,
and noise that a codec froze in place (the same in every frame, so no temporal filter can see it). A guided filter
(He et al., "Guided Image Filtering") fits each channel of R, in every window, as a linear function of the same
channel of the output: where the output varies by much more than the noise (edges, texture, colour) R follows it;
where it varies by about the noise or less, R becomes the window's mean. The threshold ``eps`` is
``(STRENGTH * sigma)^2``, with sigma the noise of that channel of the output measured on this frame where it is
flattest (:func:`flat_noise`, at the scale of 2x2 blocks, averaged over time): clean frames are left almost as they
are, noisy ones are smoothed. The window statistics are computed at half size and upsampled (the "fast guided
filter"): 10-13 ms per 960x512 frame inside the stream on a 2-core CPU. S, and with it the exposure, is left as it is.

Design, choice of strength and measured effect: docs/exposure.md ("Within a frame"); figures in MODEL_CARD.md.
"""
from __future__ import annotations

import cv2
import numpy as np

from llve.core.image import channels_last, haar_diagonal, hwc_to_tensor, tensor_to_hwc
from llve.models import Decomposition

STRENGTH = 3.6        # variation within a window below STRENGTH noise deviations is smoothed away (docs/exposure.md)
RADIUS = 2            # window radius at half size: 5x5 there, about 10x10 at full size
FLAT_SHARE = 0.1      # the noise is read in the flattest tenth of the frame (flat_noise)
FLAT_SCALE = 3.29     # turns that tenth's mean |Haar detail| of 2x2 blocks into the deviation of white noise
NOISE_MEMORY = 0.8    # share of the previous frames' noise estimate kept each frame (steady strength, no pumping)


def guided_filter(p: np.ndarray, guide: np.ndarray, guide_half: np.ndarray, eps: np.ndarray,
                  radius: int = RADIUS) -> np.ndarray:
    """HxWx3 ``p`` filtered channel by channel, each with the same channel of the HxWx3 ``guide`` (``guide_half``:
    it at half size) and its own ``eps``: window statistics at half size, coefficients upsampled."""
    h, w = guide.shape[:2]
    p_s = cv2.resize(p, guide_half.shape[1::-1], interpolation=cv2.INTER_AREA)
    box = lambda x: cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1))  # noqa: E731
    mean_g, mean_p = box(guide_half), box(p_s)
    a = (box(guide_half * p_s) - mean_g * mean_p) / (box(guide_half * guide_half) - mean_g * mean_g + eps)
    b = mean_p - a * mean_g
    a = cv2.resize(box(a), (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(box(b), (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.add(cv2.multiply(a, guide, dst=a), b, dst=a)  # into a's buffer: at 4K a fresh one costs page faults


def flat_noise(half: np.ndarray) -> np.ndarray:
    """Per channel, the noise deviation of a frame, read where it is flattest; ``half`` is the frame at half size.

    The finest Haar detail of ``half`` (2x2 blocks of the frame) is averaged over windows of 16x16 frame pixels, and
    the FLAT_SHARE quantile of those local means taken: in the flattest windows the detail is noise alone, whereas a
    median over the whole frame reads texture as noise and smooths away the detail of clean, textured footage.
    Scaled so that white noise of deviation s reads s (tested).
    """
    local = cv2.blur(haar_diagonal(half), (4, 4))
    sampled = local[2::4, 2::4]
    if sampled.size == 0:  # a frame under 12 pixels on a side has no window centre: read every position
        sampled = local
    return np.quantile(sampled.reshape(-1, half.shape[2]), FLAT_SHARE, axis=0) * FLAT_SCALE


class SpatialFilter:
    """Filters the decompositions of one stream, frame after frame (keep one per stream: it remembers the noise)."""

    def __init__(self, strength: float = STRENGTH):
        self.strength = strength
        self.noise: np.ndarray | None = None   # per channel, in the output's units

    def __call__(self, d: Decomposition) -> Decomposition:
        d = Decomposition(*map(channels_last, d))  # after the temporal filter, already so: views, no copies
        y = tensor_to_hwc(d.y)
        if min(y.shape[:2]) < 8:
            return d
        half = cv2.resize(y, (y.shape[1] // 2, y.shape[0] // 2), interpolation=cv2.INTER_AREA)
        noise = flat_noise(half)
        self.noise = noise if self.noise is None else NOISE_MEMORY * self.noise + (1 - NOISE_MEMORY) * noise
        r = guided_filter(tensor_to_hwc(d.r), y, half, ((self.strength * self.noise) ** 2 + 1e-8).astype(np.float32))
        np.clip(r, 0.0, 1.0, out=r)
        return Decomposition(hwc_to_tensor(cv2.multiply(r, tensor_to_hwc(d.s)), d.r), hwc_to_tensor(r, d.r), d.s)
