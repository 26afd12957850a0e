"""The encoders :class:`llve.media.video.VideoWriter` writes with: the output container, and the video stream in it
(raw YUV for Y4M, FFV1 in RGB when lossless, H.264 or VP9 in WebM)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import av

from llve.core.errors import UserInputError

STDIO = "-"  # standard input as an input, standard output as an output
Y4M = "yuv4mpegpipe"  # raw frames with a one-line header: what `ffmpeg -f yuv4mpegpipe -` reads and writes


def is_stdio(path: str | Path | None) -> bool:
    return path is not None and str(path) == STDIO


def ffmpeg_name(path: str | Path) -> str:
    """The name to give FFmpeg for a file: absolute, so that a relative name such as ``12:30 night.mp4`` is not
    read as a protocol (``12:``)."""
    return os.path.abspath(path)


def open_output(path: Path, fmt: str | None):
    """The output container: a file (FFmpeg guesses the format by its suffix, which temporary names keep; only
    what it cannot guess is named) or standard output (Y4M unless ``fmt`` names another)."""
    try:
        if is_stdio(path):
            return av.open(sys.stdout.buffer, mode="w", format=fmt or Y4M)
        return av.open(ffmpeg_name(path), mode="w", format=fmt or {".m4v": "mp4"}.get(path.suffix.lower()))
    except ValueError as exc:  # an unknown format name
        raise UserInputError(f"cannot write {fmt or path.suffix}: {exc}", setting="format") from None


def add_video_stream(container, path: Path, size: tuple[int, int], fps, lossless: bool, crf: int, raw: bool):
    """The video stream of ``size`` (width, height) at ``fps``: raw YUV for Y4M (4:4:4 when lossless), FFV1 in RGB
    when lossless, else H.264 or VP9 (WebM)."""
    even = not (size[0] % 2 or size[1] % 2)  # 4:2:0 needs even sizes
    if raw:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.pix_fmt = "yuv420p" if even and not lossless else "yuv444p"
    elif lossless:
        stream = container.add_stream("ffv1", rate=fps)
        stream.pix_fmt = "bgr0"
    else:
        codec, options = lossy_codec(path, crf, container.format.name)
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.pix_fmt = "yuv420p" if even else "yuv444p"
    stream.width, stream.height = size
    return stream


def lossy_codec(path: Path, crf: int, fmt: str = "") -> tuple[str, dict]:
    """H.264, except in WebM, which only takes VP8/VP9/AV1: VP9 at a constant quality there.

    x264's ``veryfast`` preset, threads as x264 chooses: at 1080p it encoded 2.2-2.6x faster than the default
    ``medium`` at the same CRF and file size, 0.4 dB below it (40.6 vs 41.0 dB against the frames, CRF 18); on an
    enhanced 1080p clip it takes 80-90 ms of CPU per frame, and ``superfast`` half that for files 16-18% larger at
    the same PSNR, so ``veryfast`` stays (``scripts/encoder_presets.py``, docs/speed.md)."""
    if path.suffix.lower() != ".webm" and fmt != "webm":
        return "libx264", {"crf": str(crf), "preset": "veryfast"}
    if "libvpx-vp9" not in av.codecs_available:
        raise UserInputError(f"cannot write {path.name}: this PyAV build has no VP9 encoder for WebM "
                             "(use .mp4 or .mkv)")
    return "libvpx-vp9", {"crf": str(crf + 13), "b:v": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}
