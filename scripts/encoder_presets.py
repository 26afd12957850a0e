"""Time, CPU, size and fidelity of x264 settings on an enhanced video, as llve's video sink encodes it (CRF 18).

The source is a lossless output (``llve enhance clip --lossless``: what the sink receives, frame for frame); each
setting encodes its frames the way :class:`llve.media.video.VideoWriter` does (RGB to 4:2:0 by the input's colour
description, then x264), in two rounds alternating the settings, so a drift in the machine's speed shows. Per
setting: wall and process-CPU milliseconds per frame (x264 runs its own threads; on a busy machine the CPU time
is what it takes from the network), megabytes, and PSNR of the decoded frames against the lossless ones.

    python scripts/encoder_presets.py OUT_lossless.mkv [--frames 24] [--setting veryfast:threads=0 ...]
"""
from __future__ import annotations

import argparse
import io
import time

import av
import cv2
import numpy as np

from llve.media.video import read_video

SETTINGS = ("veryfast", "faster", "superfast", "veryfast:threads=1", "veryfast:tune=fastdecode")


def encode(frames: list[np.ndarray], setting: str) -> tuple[float, float, int, list[np.ndarray]]:
    """Wall and CPU seconds per frame, bytes, and the decoded frames of one x264 encode at ``setting``
    (``PRESET[:key=value,...]``: x264 options as FFmpeg names them)."""
    preset, _, rest = setting.partition(":")
    options = {"crf": "18", "preset": preset, **dict(kv.split("=", 1) for kv in filter(None, rest.split(",")))}
    buffer = io.BytesIO()
    start, cpu = time.perf_counter(), time.process_time()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p", dst_colorspace=2,
                                                                              dst_color_range=0)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    seconds, cpu_s = (time.perf_counter() - start) / len(frames), (time.process_time() - cpu) / len(frames)
    size = buffer.tell()
    buffer.seek(0)
    with av.open(buffer) as src:
        decoded = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    return seconds, cpu_s, size, decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lossless", help="a lossless enhanced video (llve enhance --lossless)")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--setting", action="append", help=f"x264 setting, repeatable (default: {SETTINGS})")
    args = parser.parse_args()
    frames = [rgb for (rgb, _), _ in zip(read_video(args.lossless), range(args.frames))]
    for round_ in range(2):
        for setting in args.setting or SETTINGS:
            seconds, cpu, size, decoded = encode(frames, setting)
            psnr = np.mean([cv2.PSNR(a, b) for a, b in zip(decoded, frames)])
            print(f"round {round_} {setting:26s} {1000 * seconds:6.1f} ms/frame wall {1000 * cpu:6.1f} CPU "
                  f"{size / 1e6:6.2f} MB {psnr:.2f} dB", flush=True)


if __name__ == "__main__":
    main()
