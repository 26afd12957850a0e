"""Decode the clean DAVIS videos of ../shared at half resolution (427x240) into data/davis_half/<video>/*.png.

Half resolution keeps 128x128 training crops meaningful (they still cover a quarter of the frame) and makes the
ground-truth correspondences (DIS flow, cached) four times cheaper to compute on a CPU.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2

from llve.media.frames import write_frame
from llve.media.video import read_video


def main(src: str = "../shared/data/clean_video/davis2016", dst: str = "data/davis_half") -> None:
    for video in sorted(Path(src).glob("*.mp4")):
        out = Path(dst) / video.stem
        if out.is_dir():
            continue
        tmp = out.with_name(out.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        for i, (rgb, _) in enumerate(read_video(video)):
            h, w = rgb.shape[:2]
            write_frame(tmp / f"{i:05d}.png", cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
        tmp.rename(out)
        print(f"{video.name}: {i + 1} frames -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
