"""Temporal noise reduction on R: a recursive, motion-compensated filter, as a camera's 3D noise reduction.

R is the view-independent term: a surface has the same R in every frame (what the network's R-consistency loss
trains for). Sensor noise, though, is new in every frame. So each frame's R is averaged with the previous frame's
filtered R, warped onto it along the optical flow between the two outputs, wherever the warp agrees with the frame;
the average keeps the detail and removes the faint blotches that one frame alone cannot tell from texture. Where the
warp disagrees (motion the flow missed, occlusions, a scene cut), the weight falls to zero and R is the frame's own,
so moving things do not smear. S (illumination, and with it the exposure) is left as it is.

Design and measured effect: docs/exposure.md ("Across frames"); figures in MODEL_CARD.md.
"""
from __future__ import annotations

import cv2
import numpy as np

from llve.core.image import channels_last, hwc_to_tensor, tensor_to_hwc
from llve.flow.warp import warp_np
from llve.models import Decomposition

STRENGTH = 0.81       # weight of the warped history where it agrees with the frame exactly
TOLERANCE = 8 / 255   # output-level difference (after a 5x5 mean) at which that weight has fallen to 1/e
FLOW_SCALE = 2        # optical flow on frames downscaled by this factor: noise-robust and cheap
MIN_FLOW_SIZE = 16    # DIS needs frames of some size: smaller ones (thumbnails, tests) pass unfiltered


THIRDS = np.full((1, 3), 1 / 3, np.float32)  # cv2.transform weights: the mean of the three channels


def _gray(y: np.ndarray) -> np.ndarray:
    """HxWx3 float RGB in [0, 1] -> uint8 luma at 1/FLOW_SCALE size, what the flow is computed on."""
    gray = cv2.cvtColor(y, cv2.COLOR_RGB2GRAY)
    if min(gray.shape) < FLOW_SCALE:  # a 1-pixel strip has no smaller size; far below MIN_FLOW_SIZE anyway
        return cv2.convertScaleAbs(gray, alpha=255.0)
    small = cv2.resize(gray, None, fx=1 / FLOW_SCALE, fy=1 / FLOW_SCALE, interpolation=cv2.INTER_AREA)
    return cv2.convertScaleAbs(small, alpha=255.0)


class TemporalFilter:
    """Filters the decompositions of one stream, frame after frame (keep one per stream). The arithmetic runs in
    OpenCV on the CPU, several times faster there than ``grid_sample`` and elementwise torch."""

    def __init__(self, strength: float = STRENGTH, tolerance: float = TOLERANCE):
        self.strength, self.tolerance = strength, tolerance
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.r: np.ndarray | None = None     # the previous frame's filtered R, HxWx3
        self.gray: np.ndarray | None = None  # the previous frame's downscaled output luma (before filtering)

    def __call__(self, d: Decomposition) -> Decomposition:
        d = Decomposition(*map(channels_last, d))  # one layout for OpenCV and torch, through both filters
        gray, r = _gray(tensor_to_hwc(d.y)), tensor_to_hwc(d.r)
        if self.r is None or self.r.shape != r.shape or min(gray.shape) < MIN_FLOW_SIZE:
            self.r, self.gray = r, gray
            return d
        h, w = r.shape[:2]
        s = tensor_to_hwc(d.s)
        flow = self.flow.calc(gray, self.gray, None)  # this frame -> the previous one
        flow = cv2.resize(flow * FLOW_SCALE, (w, h), interpolation=cv2.INTER_LINEAR)
        history = warp_np(self.r, flow, in_place=True)
        # the difference the history would make in the output, channel mean, over about 5x5 pixels at half size.
        # Each full-size step writes into a buffer of this frame's that is no longer needed: at 4K a fresh one costs
        # more in page faults than the arithmetic.
        difference = cv2.absdiff(r, history)
        disagreement = cv2.transform(cv2.multiply(difference, s, dst=difference), THIRDS)
        disagreement = cv2.blur(cv2.resize(disagreement, gray.shape[::-1], interpolation=cv2.INTER_AREA), (3, 3))
        weight = self.strength * np.exp(-np.square(disagreement / self.tolerance))
        weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
        blend = cv2.multiply(cv2.subtract(history, r, dst=history), cv2.merge([weight] * 3), dst=history)
        self.r = cv2.add(r, blend, dst=history)  # r + w (history - r)
        self.gray = gray
        y = cv2.multiply(self.r, s)  # as torch multiplies: both round the exact product
        return Decomposition(hwc_to_tensor(y, d.r), hwc_to_tensor(self.r, d.r), d.s)
