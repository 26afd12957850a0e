"""Validation data for the real-footage measures, from the parts of ../shared that training never sees.

Writes, in the generic folder layout of ``llve test`` (ROOT/low/<seq>/*.png, ROOT/high/<seq>/*.png):

* data/val/davis_dark: the three held-out DAVIS videos (configs/default.yaml), first 24 frames at full size,
  each darkened by two fixed cameras (llve.data.camera): ``dim`` (1/8 exposure) and ``dark`` (1/60 exposure,
  heavier read noise, chroma noise, banding, JPEG);
* data/val/davis_codec: the same videos, first 12 frames, through two cameras with a tone curve (black level,
  S-curve) and a real video codec round trip of the whole sequence: ``phone`` (H.264, CRF 26) and ``cctv``
  (HEVC, CRF 28);
* data/val/sice: the 20 held-out SICE stacks, darkest shot -> fused reference, one frame each;
* data/val/lol_scenes: the LOL pairs of the 34 held-out scenes (54 files), one frame each.

Usage (repository root, ../shared present): python scripts/make_validation_data.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from llve.data.camera import LowLightParams, darken, darken_frames
from llve.media.frames import list_frames, read_frame, write_frame
from llve.media.video import read_video

SHARED = Path("../shared/data")
OUT = Path("data/val")
CAMERAS = {
    "dim": LowLightParams(exposure=1 / 8, cast=(1.04, 1.0, 0.96), full_well=1500.0, read_noise=0.001, seed=11),
    "dark": LowLightParams(exposure=1 / 60, cast=(0.95, 1.0, 1.05), full_well=600.0, read_noise=0.003, seed=12,
                           chroma=0.002, banding=0.001, jpeg_quality=70),
}
CODEC_CAMERAS = {
    "phone": LowLightParams(exposure=1 / 20, cast=(1.03, 1.0, 0.97), full_well=800.0, read_noise=0.002, seed=21,
                            chroma=0.0015, black_level=0.02, contrast=1.3, codec="h264", crf=26),
    "cctv": LowLightParams(exposure=1 / 40, cast=(0.97, 1.0, 1.03), full_well=400.0, read_noise=0.003, seed=22,
                           banding=0.001, black_level=0.03, contrast=1.2, codec="hevc", crf=28),
}


def held_out(source: str) -> list[str]:
    """The ``test`` list of a source of the default recipe: what the bundled weights never trained on."""
    cfg = yaml.safe_load(Path("configs/default.yaml").read_text())
    return next(list(s["test"]) for s in cfg["data"]["train"] if s.get("name") == source)


def pair(root: Path, seq: str, index: int, low: np.ndarray, high: np.ndarray) -> None:
    for side, img in (("low", low), ("high", high)):
        (root / side / seq).mkdir(parents=True, exist_ok=True)
        write_frame(root / side / seq / f"{index:05d}.png", img)


def main() -> None:
    for video in held_out("davis"):
        frames = [rgb for (rgb, _), _ in zip(read_video(SHARED / "clean_video/davis2016" / f"{video}.mp4"), range(24))]
        for name, camera in CAMERAS.items():
            rng = np.random.default_rng(camera.seed)
            for i, clean in enumerate(frames):
                pair(OUT / "davis_dark", f"{video}-{name}", i, darken(clean, camera, rng), clean)
        for name, camera in CODEC_CAMERAS.items():
            dark = darken_frames(frames[:12], camera, np.random.default_rng(camera.seed))
            for i, (low, clean) in enumerate(zip(dark, frames)):
                pair(OUT / "davis_codec", f"{video}-{name}", i, low, clean)
    for stack in held_out("sice"):
        shots = {p.stem: p for p in list_frames(SHARED / "sice_stacks" / stack)}
        pair(OUT / "sice", stack, 0, read_frame(shots["dark1"]), read_frame(shots["reference"]))
    for name in held_out("lol"):
        pair(OUT / "lol_scenes", name, 0, read_frame(SHARED / "lol_pairs/low" / f"{name}.png"),
             read_frame(SHARED / "lol_pairs/high" / f"{name}.png"))
    print(f"validation data in {OUT}: " + ", ".join(f"{p.name} ({len(list((p / 'low').iterdir()))} sequences)"
                                                   for p in sorted(OUT.iterdir())))


if __name__ == "__main__":
    main()
