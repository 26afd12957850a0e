"""docs/real_footage.jpg: input | output (auto exposure) | R | S for real dark clips and a held-out synthetic one.

Usage (repository root, ../shared present, after scripts/make_validation_data.py):
    python scripts/make_examples_figure.py [WEIGHTS] [OUT]
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from llve.media.frames import list_frames, read_frame
from llve.run.enhancer import Enhancer

CLIPS = ["../shared/data/real_dark/clip11", "../shared/data/real_dark/clip101", "../shared/data/real_dark/clip661",
         "../shared/data/real_dark/clip1021", "data/val/davis_dark/low/libby-dark"]
SIDE = 256


def label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.rectangle(img, (0, 0), (img.shape[1], 24), (0, 0, 0), -1)
    cv2.putText(img, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def main(weights: str | None = None, out: str = "docs/real_footage.jpg") -> None:
    enhancer = Enhancer(weights=weights, device="cpu")
    rows = []
    for clip in CLIPS:
        frames = [read_frame(p) for p in list_frames(Path(clip))[:4]]
        result = list(enhancer.decompose_frames(frames))[0]
        h, w = frames[0].shape[:2]
        size = (SIDE, round(SIDE * h / w))
        cells = [frames[0], result.y, result.r, result.s]
        control = enhancer.exposure_controller
        shown = f"exposure {control.recent[0].target:.2f}" if control else "no exposure control"
        names = [f"input {Path(clip).name}", f"output ({shown})",
                 "R (appearance)", "S (illumination)"]
        rows.append(np.concatenate([label(cv2.resize(c, size, interpolation=cv2.INTER_AREA), n)
                                    for c, n in zip(cells, names)], 1))
    width = max(r.shape[1] for r in rows)
    figure = np.concatenate([np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows], 0)
    cv2.imwrite(out, figure[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {out} ({figure.shape[1]}x{figure.shape[0]})")


if __name__ == "__main__":
    main(*sys.argv[1:])
