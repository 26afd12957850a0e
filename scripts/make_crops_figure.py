"""docs/crops_previous_vs_default.jpg: 100% crops, input | previous default | default, `--exposure auto`.

Rows: the sample clip (frame 30), a real dark clip (../shared/data/real_dark/clip661, frame 2) and a lit night
(SICE scene 0185's middle exposure, darkened in linear light to a mean of 63/255). The input column is brightened
by a plain gain to the default output's mean where it is darker than 50/255, so it can be seen; nothing is scaled:
one image pixel is one pixel. The night's crop is the top of the frame (its sky), and its previous column shows
what `auto` asked before lit scenes were capped (0.55, the band's top) with the previous weights.

Usage (repository root, ../shared present):
    python scripts/make_crops_figure.py [PREVIOUS_WEIGHTS] [OUT]
"""
from __future__ import annotations

import sys

import cv2
import numpy as np

from llve.core.image import mean_luma_255
from llve.data.camera import reexpose
from llve.media.video import read_video
from llve.run.enhancer import Enhancer
from llve.stream.options import StreamOptions

CROP = 240
NIGHT_MEAN = 63.0


def sample_frames() -> list[np.ndarray]:
    return [frame for _, (frame, _pts) in zip(range(32), read_video("examples/dark_tree.mp4"))]


def real_frames() -> list[np.ndarray]:
    return [cv2.imread(f"../shared/data/real_dark/clip661/frame{i}.png")[:, :, ::-1].copy() for i in range(4)]


def night_frames() -> list[np.ndarray]:
    rgb = cv2.imread("../shared/data/sice_stacks/0185/middle.jpg")[:, :, ::-1]
    rgb = cv2.resize(rgb, (rgb.shape[1] * 512 // rgb.shape[0], 512), interpolation=cv2.INTER_AREA)
    gain = 1.0
    for _ in range(20):  # the gain in linear light that lands the frame's mean on NIGHT_MEAN
        gain *= (NIGHT_MEAN / max(mean_luma_255(reexpose(rgb, gain)), 1e-3)) ** 2.2
    return [reexpose(rgb, gain)]


def crop(img: np.ndarray, top_share: float) -> np.ndarray:
    """A CROP x CROP window, centred across, ``top_share`` of the free height down."""
    h, w = img.shape[:2]
    top, left = max(0, round((h - CROP) * top_share)), max(0, (w - CROP) // 2)
    return img[top:top + CROP, left:left + CROP]


def label(img: np.ndarray, text: str) -> np.ndarray:
    img = np.ascontiguousarray(img)
    cv2.rectangle(img, (0, 0), (img.shape[1], 20), (0, 0, 0), -1)
    cv2.putText(img, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def row(frames: list[np.ndarray], index: int, name: str, enhancers: dict[str, Enhancer],
        top_share: float = 0.5) -> np.ndarray:
    outputs = {key: list(e.enhance_frames(frames))[index] for key, e in enhancers.items()}
    mean = mean_luma_255(frames[index])
    gain = mean_luma_255(outputs["default"]) / max(mean, 1) if mean < 50 else 1.0
    shown = np.clip(frames[index].astype(np.float32) * gain, 0, 255).astype(np.uint8)
    tiles = [label(crop(shown, top_share), f"{name}: input" + (" x gain" if gain != 1 else ""))]
    for key, out in outputs.items():
        p5 = np.percentile(out.astype(np.float32) @ np.float32([0.299, 0.587, 0.114]), 5)
        tiles.append(label(crop(out, top_share), f"{key} (mean {mean_luma_255(out):.0f}, 5% {p5:.0f})"))
    return np.concatenate(tiles, 1)


def main(previous: str = "weights/default_v2.safetensors", out: str = "docs/crops_previous_vs_default.jpg") -> None:
    enhancers = {"previous": Enhancer(weights=previous, device="cpu"), "default": Enhancer(device="cpu")}
    before_cap = {"previous": Enhancer(weights=previous, device="cpu", options=StreamOptions(exposure=0.55)),
                  "default": enhancers["default"]}
    rows = [row(sample_frames(), 30, "sample clip", enhancers), row(real_frames(), 2, "real clip661", enhancers),
            row(night_frames(), 0, "lit night", before_cap, top_share=0.0)]
    cv2.imwrite(out, np.concatenate(rows, 0)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
