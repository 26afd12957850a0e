"""Optional learned correspondence backends: RAFT (torchvision), RoMa (romatch), DKM (official STCD's choice).

Each is imported only when selected, reads its weights from a local file (nothing is downloaded), and fails
with a one-line error naming the extra to install when its package is missing.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import cv2
import numpy as np
import torch

from llve.core.errors import UserInputError
from llve.flow.warp import Correspondence, forward_backward_certainty
from llve.models.padding import Padder


def _require(module: str, hint: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserInputError(f"correspondence backend needs the '{module}' package: {hint}") from None


def _weights_file(weights: str | None, backend: str) -> Path:
    if not weights:
        raise UserInputError(f"correspondence backend '{backend}' needs a local weights file "
                             "(correspondence.weights in the config); nothing is downloaded")
    path = Path(weights)
    if not path.is_file():
        raise UserInputError(f"{backend} weights file not found: {path}")
    return path


def warp_to_correspondence(warp: np.ndarray, certainty: np.ndarray, height: int, width: int) -> Correspondence:
    """Turn a symmetric dense-matcher output into flows at ``(height, width)``.

    RoMa and DKM return ``warp`` (h, 2w, 4) and ``certainty`` (h, 2w). Every entry is a matched point pair
    ``(x1, y1, x2, y2)``, image-1 coordinates first, normalised to [-1, 1] (grid_sample's ``align_corners=False``
    convention). The left half is laid out on image 1's grid (its last two channels are the matches in image 2),
    the right half on image 2's grid (its first two channels are the matches in image 1).
    """
    w = certainty.shape[1] // 2  # the width of one half
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))

    def flow(target_norm: np.ndarray) -> np.ndarray:
        tx = (target_norm[..., 0] + 1) * width / 2 - 0.5
        ty = (target_norm[..., 1] + 1) * height / 2 - 0.5
        tx = cv2.resize(tx.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        ty = cv2.resize(ty.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        return np.stack([tx - xs, ty - ys], -1)

    def cert(c: np.ndarray) -> np.ndarray:
        return np.clip(cv2.resize(c.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR), 0, 1)

    f12, f21 = flow(warp[:, :w, 2:]), flow(warp[:, w:, :2])
    inside1 = forward_backward_certainty(f12, f21) > 0  # only the in-frame test; the matcher rates the rest
    inside2 = forward_backward_certainty(f21, f12) > 0
    return Correspondence(f12, f21, cert(certainty[:, :w]) * inside1, cert(certainty[:, w:]) * inside2)


class RAFTBackend:
    """torchvision's RAFT-large, weights from a local ``.pth`` (e.g. torchvision's ``raft_large_C_T_SKHT_V2``)."""

    name = "raft"

    def __init__(self, weights: str | None, device: str = "cpu"):
        flow_models = _require("torchvision.models.optical_flow", "pip install 'llve[raft]' (torchvision)")
        self.device = torch.device(device)
        self.model = flow_models.raft_large(weights=None, progress=False)
        state = torch.load(_weights_file(weights, "raft"), map_location="cpu", weights_only=True)
        self.model.load_state_dict(state)
        self.model.to(self.device).eval()

    @torch.no_grad()
    def _flow(self, a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
        return self.model(a, b)[-1][0].permute(1, 2, 0).cpu().numpy()

    def __call__(self, img1: np.ndarray, img2: np.ndarray) -> Correspondence:
        h, w = img1.shape[:2]
        padder = Padder(h, w, 8)

        def prep(img: np.ndarray) -> torch.Tensor:
            x = torch.from_numpy(img).permute(2, 0, 1)[None].float().to(self.device) / 127.5 - 1  # RAFT wants [-1, 1]
            return padder.pad(x)

        a, b = prep(img1), prep(img2)
        f12 = np.ascontiguousarray(self._flow(a, b)[:h, :w])
        f21 = np.ascontiguousarray(self._flow(b, a)[:h, :w])
        return Correspondence(f12, f21, forward_backward_certainty(f12, f21), forward_backward_certainty(f21, f12))


class _DenseMatcher:
    """Shared driver for matchers with RoMa/DKM's ``match(im1, im2) -> (warp, certainty)`` interface."""

    def __init__(self, model, device: str):
        self.model, self.device = model, device

    @torch.no_grad()
    def __call__(self, img1: np.ndarray, img2: np.ndarray) -> Correspondence:
        from PIL import Image

        warp, certainty = self.model.match(Image.fromarray(img1), Image.fromarray(img2), device=self.device)
        return warp_to_correspondence(warp.float().cpu().numpy(), certainty.float().cpu().numpy(), *img1.shape[:2])


class RoMaBackend(_DenseMatcher):
    """RoMa (outdoor model) from ``romatch``; needs its weights file and, for its DINOv2 encoder, ``dinov2_weights``."""

    name = "roma"

    def __init__(self, weights: str | None, device: str = "cpu", dinov2_weights: str | None = None):
        romatch = _require("romatch", "pip install 'llve[roma]'")
        state = torch.load(_weights_file(weights, "roma"), map_location="cpu", weights_only=True)
        dino = torch.load(_weights_file(dinov2_weights, "roma (DINOv2)"), map_location="cpu", weights_only=True)
        super().__init__(romatch.roma_outdoor(device=device, weights=state, dinov2_weights=dino), device)


class DKMBackend(_DenseMatcher):
    """DKMv3 indoor, as the official STCD training used; DKM is installed from its own sources, not PyPI."""

    name = "dkm"

    def __init__(self, weights: str | None, device: str = "cpu"):
        dkm = _require("dkm", "install DKM from its own repository (the PyPI package 'dkm' is unrelated)")
        if not hasattr(dkm, "DKMv3_indoor"):
            raise UserInputError("the installed 'dkm' package has no DKMv3_indoor: it is not DKM (the PyPI package "
                                 "'dkm' is an unrelated placeholder); install DKM from its own repository")
        super().__init__(dkm.DKMv3_indoor(path_to_weights=str(_weights_file(weights, "dkm")), device=device), device)
