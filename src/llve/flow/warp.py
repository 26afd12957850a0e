"""Flow fields between two frames: the :class:`Correspondence` record, backward warping along a flow in torch (for
losses) and numpy (for data), and the forward-backward occlusion test (training certainties, evaluation masks).

Convention everywhere in llve: ``flow12[:, :, y, x] = (dx, dy)`` says that pixel ``(x, y)`` of frame 1 shows
the same point as position ``(x + dx, y + dy)`` of frame 2 (the OpenCV convention). Warping frame 2 with
``flow12`` therefore produces an image aligned with frame 1.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# Forward-backward occlusion test (Sundaram et al. 2010, as used by Lai et al. 2018 for E_warp): a pixel is kept
# when |F + B(x+F)|^2 <= FB_ALPHA * (|F|^2 + |B(x+F)|^2) + FB_BETA (in pixels^2).
FB_ALPHA = 0.01
FB_BETA = 0.5


def warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``img`` (B, C, H, W) at ``p + flow(p)`` (bilinear; outside the frame takes the border value).

    Pixel coordinates map to grid_sample's [-1, 1] with ``align_corners=True``: pixel 0 is -1, pixel W-1 is +1.
    """
    _, _, h, w = img.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=img.device, dtype=flow.dtype),
                            torch.arange(w, device=img.device, dtype=flow.dtype), indexing="ij")
    target = torch.stack([xs, ys]) + flow  # pixel centres (2, H, W), x first, moved: (B, 2, H, W)
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=img.device, dtype=flow.dtype)
    grid = (target * scale.view(1, 2, 1, 1) - 1).permute(0, 2, 3, 1)  # (B, H, W, 2)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)


@functools.lru_cache(maxsize=4)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """``(H, W, 2)`` float32 pixel centres ``(x, y)``, read-only and cached: a stream warps every frame at one size."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.stack([xs, ys], axis=-1)
    grid.flags.writeable = False
    return grid


def warp_np(img: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR,
            border: int = cv2.BORDER_REPLICATE, in_place: bool = False) -> np.ndarray:
    """Numpy/OpenCV twin of :func:`warp`: ``img`` (H, W[, C]) sampled at ``p + flow(p)``, flow (H, W, 2).
    ``in_place``: a float32 ``flow`` the caller gives up becomes the sampling positions (no new buffer)."""
    grid = pixel_grid(*flow.shape[:2])
    target = np.add(grid, flow, out=flow) if in_place else grid + flow.astype(np.float32, copy=False)
    return cv2.remap(img, target, None, interpolation, borderMode=border)


def inside(flow: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: where ``p + flow(p)`` lands inside the frame (pixel centres 0..W-1, 0..H-1)."""
    h, w = flow.shape[:2]
    target = pixel_grid(h, w) + flow
    tx, ty = target[..., 0], target[..., 1]
    return (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)


def round_trip(flow12: np.ndarray, flow21: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W)`` squared round-trip error ``e^2 = |f12(p) + f21(p + f12(p))|^2`` of the trip 1 -> 2 -> 1 and the
    bound ``FB_ALPHA (|f12|^2 + |f21(p + f12)|^2) + FB_BETA`` it is compared with (pixels^2): the occlusion test
    of Sundaram et al. (ECCV 2010), as Lai et al. (2018) use it for the warping error."""
    back = warp_np(flow21.astype(np.float32), flow12.astype(np.float32))
    err2 = ((flow12 + back) ** 2).sum(-1)
    return err2, FB_ALPHA * ((flow12 ** 2).sum(-1) + (back ** 2).sum(-1)) + FB_BETA


def valid_flow_mask(flow12: np.ndarray, flow21: np.ndarray) -> np.ndarray:
    """Pixels of frame 1 whose flow lands inside frame 2 and passes the round-trip test ``e^2 <= bound`` (HxW bool)."""
    err2, bound = round_trip(flow12, flow21)
    return inside(flow12) & (err2 <= bound)


def forward_backward_certainty(flow12: np.ndarray, flow21: np.ndarray) -> np.ndarray:
    """Certainty of ``flow12`` in [0, 1], ``(H, W)`` float32: ``exp(-e^2 / bound)`` of :func:`round_trip`, the smooth
    counterpart of :func:`valid_flow_mask`, so it tolerates larger errors on larger motions. Points that leave the
    frame get 0."""
    err2, bound = round_trip(flow12, flow21)
    cert = np.exp(-err2 / bound).astype(np.float32)
    cert[~inside(flow12)] = 0.0
    return cert


class Correspondence(NamedTuple):
    """Flows (H, W, 2) float32 in pixels (x, y), certainties (H, W) float32 in [0, 1]."""

    flow12: np.ndarray
    flow21: np.ndarray
    cert1: np.ndarray
    cert2: np.ndarray

    def swapped(self) -> Correspondence:
        """The same correspondence seen from frame 2."""
        return Correspondence(self.flow21, self.flow12, self.cert2, self.cert1)


def identity_correspondence(height: int, width: int) -> Correspondence:
    """A frame matched with itself (same frame sampled twice, or SMID's single ground truth)."""
    zero = np.zeros((height, width, 2), np.float32)
    one = np.ones((height, width), np.float32)
    return Correspondence(zero, zero.copy(), one, one.copy())
