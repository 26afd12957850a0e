"""On-disk cache of correspondences, keyed by dataset, sequence, frame pair and frame size.

Correspondences are computed on ground-truth frames only, which never change between epochs, so the second
epoch reads them back instead of recomputing. Storage is compact: flows as int16 in 1/32 pixel (range
+-1024 px), certainties as uint8 in 1/255, zip-compressed — about 1-2 MB per pair at 960x512.
A fresh result is passed through the same quantisation before it is returned, so training sees identical
numbers whether a pair came from the backend or from the cache (a resumed run stays bit-for-bit equal).
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np

from llve.core.atomic import atomic_output
from llve.flow import Backend, Correspondence

FLOW_STEP = 1.0 / 32.0


def _quantise(c: Correspondence) -> dict[str, np.ndarray]:
    return {k: np.clip(np.round(v / FLOW_STEP), -32767, 32767).astype(np.int16) if k.startswith("flow")
            else np.round(np.clip(v, 0, 1) * 255).astype(np.uint8) for k, v in c._asdict().items()}


def _restore(q) -> Correspondence:
    return Correspondence(q["flow12"].astype(np.float32) * FLOW_STEP, q["flow21"].astype(np.float32) * FLOW_STEP,
                          q["cert1"].astype(np.float32) / 255, q["cert2"].astype(np.float32) / 255)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "_"


class CorrespondenceCache:
    """Wraps a backend; ``get`` returns the cached pair or computes, stores and returns it. Args: backend: its ``name``
    separates the caches of different backends; root: cache folder, or None to compute every time (still quantised,
    for equal numbers). ``computed``: how many pairs this object sent to the backend ("epoch 2 recomputes nothing")."""

    def __init__(self, backend: Backend, root: str | Path | None):
        self.backend = backend
        self.root = Path(root) / _safe(getattr(backend, "name", type(backend).__name__)) if root else None
        self.computed = 0

    def path(self, dataset: str, sequence: str, i: int, j: int, height: int, width: int) -> Path:
        return self.root / _safe(dataset) / _safe(sequence) / f"{i}_{j}_{width}x{height}.npz"

    def get(self, dataset: str, sequence: str, i: int, j: int, img_i: np.ndarray, img_j: np.ndarray) -> Correspondence:
        """Correspondence from frame ``i`` (image ``img_i``) to frame ``j``; the pair (j, i) shares the file."""
        if j < i:
            return self.get(dataset, sequence, j, i, img_j, img_i).swapped()
        height, width = img_i.shape[:2]
        path = self.path(dataset, sequence, i, j, height, width) if self.root else None
        if path is not None and path.is_file():
            # A damaged entry is recomputed, never trusted.
            with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as stored:
                return _restore(stored)
        self.computed += 1  # per process: DataLoader workers count in their own copies
        q = _quantise(self.backend(img_i, img_j))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(path) as tmp, open(tmp, "wb") as f:
                np.savez_compressed(f, **q)
        return _restore(q)
