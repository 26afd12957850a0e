"""Make a small SDSD-layout test tree from clean frame folders by synthetic darkening, to try ``llve test``.

Each clean frame becomes a ground-truth ``.npy`` in ``OUT/GT/<seq>/`` and a darkened, noisy copy in
``OUT/input/<seq>/`` (stored BGR, like the ``npy_channels: bgr`` of the SDSD configs). Synthetic darkening is not
SDSD: numbers measured on such a tree only compare methods with each other.

    python scripts/make_dark_sdsd_tree.py OUT ../shared/data/clean_video/realbasicvsr_demo_000 ...
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from llve.data.frames import list_frames, read_frame


def darken(rgb: np.ndarray, rng: np.random.Generator, scale: float = 0.15, gamma: float = 1.3,
           noise: float = 0.01) -> np.ndarray:
    x = (rgb.astype(np.float32) / 255.0) ** gamma * scale
    x = x + rng.normal(0.0, noise, x.shape).astype(np.float32)
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("folders", nargs="+", type=Path, help="clean frame folders; each becomes one sequence")
    parser.add_argument("--frames", type=int, default=30, help="at most this many frames per sequence")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for folder in args.folders:
        for i, path in enumerate(list_frames(folder)[: args.frames]):
            gt = read_frame(path)
            for sub, img in (("GT", gt), ("input", darken(gt, rng))):
                (args.out / sub / folder.name).mkdir(parents=True, exist_ok=True)
                np.save(args.out / sub / folder.name / f"{i:05d}.npy", np.ascontiguousarray(img[:, :, ::-1]))
    print(f"wrote {len(args.folders)} sequences under {args.out}")


if __name__ == "__main__":
    main()
