"""Spatial noise reduction on R: an edge-preserving guided filter whose strength follows the frame's own noise.

What the network and the temporal filter leave in a dark clip is low-frequency: faint blotches 2-8 pixels wide,
and noise that a codec froze in place (the same in every frame, so no temporal filter can see it). A guided filter
(He et al., "Guided Image Filtering") fits each channel of R, in every window, as a linear function of the same
channel of the output: where the output varies by much more than the noise (edges, texture, colour) R follows it;
where it varies by about the noise or less, R becomes the window's mean. The threshold ``eps`` is
``(STRENGTH * sigma)^2``, with sigma the noise of that channel of the output measured on this frame
(:func:`llve.metrics.haar_noise` at the scale of 2x2 blocks, averaged over time): clean
frames are left almost as they are, noisy ones are smoothed. The window statistics are computed at half size and
upsampled (the "fast guided filter"): a few milliseconds per 960x512 frame. S, and with it the exposure, is left
as it is.

Measured on ``../shared/data/real_dark`` and the held-out DAVIS clips: MODEL_CARD.md ("The spatial filter").
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from llve.metrics import haar_noise
from llve.models import Decomposition
from llve.temporal_filter import hwc

STRENGTH = 4.0        # variation within a window below STRENGTH noise deviations is smoothed away
RADIUS = 3            # window radius at half size: 7x7 there, about 14x14 at full size
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
    return cv2.add(cv2.multiply(a, guide), b)


def every_other_row_pair(image: np.ndarray) -> np.ndarray:
    """Rows 0-1, 4-5, 8-9, ... of an HxWxC image: half of its 2x2 blocks, spread over the whole frame, for a noise
    estimate (a median of ~30,000 blocks per channel at 960x512) at half the cost."""
    quads = image[: image.shape[0] // 4 * 4].reshape(-1, 4, *image.shape[1:])
    return quads[:, :2].reshape(-1, *image.shape[1:])


class SpatialFilter:
    """Filters the decompositions of one stream, frame after frame (keep one per stream: it remembers the noise)."""

    def __init__(self, strength: float = STRENGTH):
        self.strength = strength
        self.noise: np.ndarray | None = None   # per channel, in the output's units

    def __call__(self, d: Decomposition) -> Decomposition:
        y = hwc(d.y)
        if min(y.shape[:2]) < 8:
            return d
        half = cv2.resize(y, (y.shape[1] // 2, y.shape[0] // 2), interpolation=cv2.INTER_AREA)
        noise = 2 * haar_noise(every_other_row_pair(half), level=1)  # haar_noise(y, level=2) of half the blocks
        self.noise = noise if self.noise is None else NOISE_MEMORY * self.noise + (1 - NOISE_MEMORY) * noise
        r = guided_filter(hwc(d.r), y, half, ((self.strength * self.noise) ** 2 + 1e-8).astype(np.float32))
        r_t = torch.from_numpy(np.clip(r, 0.0, 1.0)).permute(2, 0, 1)[None].to(d.r.device, d.r.dtype)
        return Decomposition(r_t * d.s, r_t, d.s)
