"""Tiny dataset trees in the real on-disk layouts, generated per test (no downloaded data needed)."""
from pathlib import Path

import cv2
import numpy as np
import pytest


def texture(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth random RGB uint8 texture with values in [20, 200] (an offset of +-20 never clips)."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(2, h // 4), max(2, w // 4), 3)).astype(np.float32)
    return (20 + 180 * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)).round().astype(np.uint8)


def write_npy_sequence(folder: Path, frames: list[np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        np.save(folder / f"{i:05d}.npy", f)


@pytest.fixture
def sdsd_tree(tmp_path):
    """SDSD layout: pairA GT == input; pairB GT = input + 10; pairC GT = input + 5 with only 2 frames."""
    root = tmp_path / "sdsd"
    for name, n, offset, seed in (("pairA", 3, 0, 1), ("pairB", 3, 10, 2), ("pairC", 2, 5, 3)):
        low = [texture(32, 48, seed * 10 + i) for i in range(n)]
        write_npy_sequence(root / "input" / name, low)
        write_npy_sequence(root / "GT" / name, [(f.astype(int) + offset).astype(np.uint8) for f in low])
    return root
