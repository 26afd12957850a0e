"""Dense correspondences between two ground-truth frames, for the cross-frame consistency loss.

Every backend is a callable ``(img1, img2) -> Correspondence`` on HxWx3 uint8 RGB frames of equal size.
``BACKENDS`` maps a config name to a factory ``(weights: str | None, device: str) -> backend``:

* ``dis`` (default): OpenCV DIS optical flow, CPU, no weights;
* ``raft``: torchvision's RAFT-large from a local weights file (extra ``llve[raft]``);
* ``roma``: RoMa from the ``romatch`` package and a local weights file (extra ``llve[roma]``);
* ``dkm``: DKMv3 (indoor) when ``import dkm`` provides ``DKMv3_indoor`` (install DKM from its own sources).

Correspondences depend only on ground-truth frames, so :class:`~llve.flow.cache.CorrespondenceCache`
keeps them on disk and an epoch after the first reads them back.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llve.core.errors import UserInputError
from llve.flow.dis import DISBackend
from llve.flow.learned import DKMBackend, RAFTBackend, RoMaBackend
from llve.flow.warp import Correspondence, forward_backward_certainty, identity_correspondence

Backend = Callable[[np.ndarray, np.ndarray], Correspondence]


@dataclass(frozen=True)
class CorrespondenceConfig:
    """Args: backend: dis | raft | roma | dkm; weights: local weights file of a learned backend;
    dinov2_weights: RoMa's DINOv2 encoder weights; device: where a learned backend runs;
    cache: keep computed correspondences on disk (in the run's cache folder, or ``cache_dir``)."""

    backend: str = "dis"
    weights: str | None = None
    dinov2_weights: str | None = None
    device: str = "cpu"
    cache: bool = True
    cache_dir: str | None = None


BACKENDS: dict[str, Callable[[CorrespondenceConfig], Backend]] = {
    "dis": lambda cfg: DISBackend(),
    "raft": lambda cfg: RAFTBackend(cfg.weights, cfg.device),
    "roma": lambda cfg: RoMaBackend(cfg.weights, cfg.device, cfg.dinov2_weights),
    "dkm": lambda cfg: DKMBackend(cfg.weights, cfg.device),
}


def build_backend(cfg: CorrespondenceConfig = CorrespondenceConfig()) -> Backend:
    """Create the configured correspondence backend; missing packages or weights are a one-line error."""
    if cfg.backend not in BACKENDS:
        raise UserInputError(f"unknown correspondence backend '{cfg.backend}' (choose from {', '.join(BACKENDS)})")
    return BACKENDS[cfg.backend](cfg)


__all__ = ["BACKENDS", "Backend", "Correspondence", "CorrespondenceConfig", "build_backend",
           "forward_backward_certainty", "identity_correspondence"]
