"""Temporal noise reduction on R: a recursive, motion-compensated filter, as a camera's 3D noise reduction.

R is the view-independent term: a surface has the same R in every frame (what the network's R-consistency loss
trains for). Sensor noise, though, is new in every frame. So each frame's R is averaged with the previous frame's
filtered R, warped onto it along the optical flow between the two outputs, wherever the warp agrees with the frame;
the average keeps the detail and removes the faint blotches that one frame alone cannot tell from texture. Where the
warp disagrees (motion the flow missed, occlusions, a scene cut), the weight falls to zero and R is the frame's own,
so moving things do not smear. S (illumination, and with it the exposure) is left as it is.

Measured on ``../shared/data/real_dark`` and the held-out DAVIS clips (docs/exposure.md, "Noise").
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from llve.correspondence.warp import warp
from llve.models import Decomposition

STRENGTH = 0.75       # weight of the warped history where it agrees with the frame exactly
TOLERANCE = 8 / 255   # output-level difference (after a 5x5 mean) at which that weight has fallen to 1/e
FLOW_SCALE = 2        # optical flow on frames downscaled by this factor: noise-robust and cheap
MIN_FLOW_SIZE = 16    # DIS needs frames of some size: smaller ones (thumbnails, tests) pass unfiltered


def _gray(y: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [0, 1] -> uint8 luma at 1/FLOW_SCALE size, what the flow is computed on."""
    rgb = y[0].float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, None, fx=1 / FLOW_SCALE, fy=1 / FLOW_SCALE, interpolation=cv2.INTER_AREA)


class TemporalFilter:
    """Filters the decompositions of one stream, frame after frame (keep one per stream)."""

    def __init__(self, strength: float = STRENGTH, tolerance: float = TOLERANCE):
        self.strength, self.tolerance = strength, tolerance
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.r: torch.Tensor | None = None   # the previous frame's filtered R
        self.gray: np.ndarray | None = None  # the previous frame's downscaled output luma (before filtering)

    def __call__(self, d: Decomposition) -> Decomposition:
        gray = _gray(d.y)
        r = d.r
        if self.r is not None and self.r.shape == r.shape and min(gray.shape) >= MIN_FLOW_SIZE:
            h, w = r.shape[-2:]
            flow = self.flow.calc(gray, self.gray, None)  # this frame -> the previous one
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) * FLOW_SCALE
            flow = torch.from_numpy(flow).to(r.device, r.dtype).permute(2, 0, 1)[None]
            history = warp(self.r, flow)
            disagreement = F.avg_pool2d((d.s * (r - history)).abs().mean(1, keepdim=True), 5, 1, 2,
                                        count_include_pad=False)
            weight = self.strength * torch.exp(-(disagreement / self.tolerance) ** 2)
            r = r + weight * (history - r)
            d = Decomposition(r * d.s, r, d.s)
        self.r, self.gray = r, gray
        return d
