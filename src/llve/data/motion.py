"""Random smooth camera motion that turns one static image pair into a frame pair with exact correspondences.

The same motion is applied to the low-light and the normal-light image, so a real still pair (e.g. LOL) becomes
a two-frame video sample whose ground-truth flow is known, not estimated. Frame 1 is a crop of the image;
frame 2 shows the image at ``T(p) = H(p) + s(p)``: a random homography close to the identity (shift, rotation,
zoom, mild perspective) plus a low-frequency random flow field ``s`` of a few pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from llve.flow import Correspondence
from llve.flow.warp import inside


@dataclass(frozen=True)
class MotionConfig:
    """Args: shift: max translation (fraction of the frame size); rotate: max rotation (degrees);
    zoom: max relative scale change; perspective: max corner jitter (fraction of the size) on top;
    flow: max amplitude (pixels) of the smooth extra flow; flow_cells: its grid (cells across the frame)."""

    shift: float = 0.04
    rotate: float = 3.0
    zoom: float = 0.05
    perspective: float = 0.01
    flow: float = 2.0
    flow_cells: int = 4


class MotionPair(NamedTuple):
    """Frame pairs cut from the static images, and their exact correspondence."""

    low1: np.ndarray
    low2: np.ndarray
    gt1: np.ndarray
    gt2: np.ndarray
    corr: Correspondence


def _homography(cfg: MotionConfig, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A random near-identity homography about the frame centre, in frame-1 pixel coordinates."""
    angle = np.deg2rad(rng.uniform(-cfg.rotate, cfg.rotate))
    scale = 1 + rng.uniform(-cfg.zoom, cfg.zoom)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    affine = np.eye(3)
    affine[:2] = cv2.getRotationMatrix2D((cx, cy), np.rad2deg(angle), scale)
    affine[0, 2] += rng.uniform(-cfg.shift, cfg.shift) * w
    affine[1, 2] += rng.uniform(-cfg.shift, cfg.shift) * h
    corners = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    jitter = rng.uniform(-cfg.perspective, cfg.perspective, (4, 2)) * np.float32([w, h])
    persp = cv2.getPerspectiveTransform(corners, (corners + jitter).astype(np.float32))
    return affine @ persp


def _smooth_field(cfg: MotionConfig, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random displacement field (H, W, 2): random values on a coarse grid, bicubic upsampling."""
    cells = max(cfg.flow_cells, 1)
    coarse = rng.uniform(-cfg.flow, cfg.flow, (cells + 1, cells + 1, 2)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _apply(matrix: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    den = matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2]
    return ((matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]) / den,
            (matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]) / den)


def random_motion(low: np.ndarray, gt: np.ndarray, size: tuple[int, int], cfg: MotionConfig,
                  rng: np.random.Generator) -> MotionPair:
    """Cut a ``size = (width, height)`` frame pair from a static pair ``low``/``gt`` (H, W, 3) with random motion.

    ``flow21`` is the motion itself (frame 2 pixel p shows frame 1's point ``T(p)``); ``flow12`` is its inverse,
    found by fixed-point iteration ``p <- H^-1(q - s(p))`` (converges because ``s`` is small and smooth).
    Certainties are 1 where the partner point lies inside the other frame and the inverse is exact, else 0.
    """
    w, h = size
    full_h, full_w = gt.shape[:2]
    if w > full_w or h > full_h:
        raise ValueError(f"frame size {w}x{h} exceeds the image size {full_w}x{full_h}")
    ox, oy = rng.integers(0, full_w - w + 1), rng.integers(0, full_h - h + 1)
    hom = _homography(cfg, w, h, rng)
    smooth = _smooth_field(cfg, w, h, rng)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))

    tx, ty = _apply(hom, xs, ys)
    tx, ty = tx + smooth[..., 0], ty + smooth[..., 1]  # T(p), in frame-1 coordinates
    flow21 = np.stack([tx - xs, ty - ys], -1).astype(np.float32)

    inv = np.linalg.inv(hom)
    px, py = _apply(inv, xs, ys)
    for _ in range(8):
        s = cv2.remap(smooth, px.astype(np.float32), py.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
        px, py = _apply(inv, xs - s[..., 0], ys - s[..., 1])
    flow12 = np.stack([px - xs, py - ys], -1).astype(np.float32)

    def frames(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first = np.ascontiguousarray(img[oy:oy + h, ox:ox + w])
        second = cv2.remap(img, (tx + ox).astype(np.float32), (ty + oy).astype(np.float32), cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT_101)
        return first, second

    # Round trip 1 -> 2 -> 1 through the exact forward map: tiny where the iteration converged.
    back = cv2.remap(flow21, px.astype(np.float32), py.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    exact = np.hypot(*(flow12 + back).transpose(2, 0, 1)) < 0.05
    cert1 = (inside(flow12) & exact).astype(np.float32)
    cert2 = inside(flow21).astype(np.float32)
    return MotionPair(*frames(low), *frames(gt), Correspondence(flow12, flow21, cert1, cert2))


def still_to_clip(img: np.ndarray, frames: int, rng: np.random.Generator,
                  cfg: MotionConfig = MotionConfig()) -> list[np.ndarray]:
    """A still image as a short clip: the camera drifts smoothly along one random motion of this module.

    Frame k shows the image at ``p + a_k * (T(p) - p)`` with ``a_k = k / (frames - 1)``, so the first frame is the
    still itself and the last one is moved by the full random homography plus smooth field.
    """
    h, w = img.shape[:2]
    hom, smooth = _homography(cfg, w, h, rng), _smooth_field(cfg, w, h, rng)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    tx, ty = _apply(hom, xs, ys)
    dx, dy = tx + smooth[..., 0] - xs, ty + smooth[..., 1] - ys
    last = max(frames - 1, 1)
    return [cv2.remap(img, (xs + k / last * dx).astype(np.float32), (ys + k / last * dy).astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101) for k in range(frames)]
