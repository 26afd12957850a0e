"""OpenCV DIS optical flow (Kroeger et al., ECCV 2016): fast, CPU-only, no weights. The default backend."""
from __future__ import annotations

import cv2
import numpy as np

from llve.flow.warp import Correspondence, forward_backward_certainty


class DISBackend:
    """Dense flow both ways with DIS, certainty from the forward-backward check. Args: preset:
    ``cv2.DISOPTICAL_FLOW_PRESET_{ULTRAFAST,FAST,MEDIUM}``; MEDIUM is accurate enough for neighbouring video frames
    and still runs at several frames per second at 960x512 on one core."""

    name = "dis"

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM):
        self.preset = preset
        self._dis = None  # built lazily: OpenCV objects cannot be pickled into DataLoader workers

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(self.preset)
        return self._dis.calc(a, b, None).astype(np.float32)

    def __getstate__(self):
        return {"preset": self.preset, "_dis": None}

    def flows(self, img1: np.ndarray, img2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flows 1 -> 2 and 2 -> 1 (H, W, 2) float32 between two RGB uint8 frames, computed on their luma."""
        g1, g2 = (cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in (img1, img2))
        return self._flow(g1, g2), self._flow(g2, g1)

    def __call__(self, img1: np.ndarray, img2: np.ndarray) -> Correspondence:
        f12, f21 = self.flows(img1, img2)
        return Correspondence(f12, f21, forward_backward_certainty(f12, f21), forward_backward_certainty(f21, f12))
