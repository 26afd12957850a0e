"""Time, size and fidelity of x264 presets on 1080p frames, as llve's video sink encodes them (CRF 18).

24 frames of the DAVIS video ``libby`` (../shared) upscaled to 1920x1080, two rounds of every preset, so a drift
in the machine's speed shows. Run from the repository root:  python scripts/encoder_presets.py
"""
from __future__ import annotations

import io
import time

import av
import cv2
import numpy as np

from llve.media.video import read_video

PRESETS = ("medium", "faster", "veryfast")
SOURCE = "../shared/data/clean_video/davis2016/libby.mp4"


def encode(frames: list[np.ndarray], preset: str) -> tuple[float, int, list[np.ndarray]]:
    """Seconds per frame, bytes, and the decoded frames of one x264 encode."""
    buffer, start = io.BytesIO(), time.perf_counter()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options, stream.thread_type = {"crf": "18", "preset": preset}, "AUTO"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    seconds, size = (time.perf_counter() - start) / len(frames), buffer.tell()
    buffer.seek(0)
    with av.open(buffer) as src:
        decoded = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    return seconds, size, decoded


def main() -> None:
    frames = [cv2.resize(rgb, (1920, 1080)) for (rgb, _), _ in zip(read_video(SOURCE), range(24))]
    for round_ in range(2):
        for preset in PRESETS:
            seconds, size, decoded = encode(frames, preset)
            psnr = np.mean([cv2.PSNR(a, b) for a, b in zip(decoded, frames)])
            print(f"round {round_} {preset:9s} {1000 * seconds:5.0f} ms/frame {size / 1e6:.2f} MB {psnr:.2f} dB")


if __name__ == "__main__":
    main()
