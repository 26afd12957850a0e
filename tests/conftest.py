"""Shared fixtures: small clips and networks that the tests make themselves (no downloads, no ../shared)."""
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from llve.media.video import VideoColor
from llve.models import build_model
from llve.models.weights import save_model

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def synthetic_frames(n: int, height: int, width: int, seed: int = 0) -> list[np.ndarray]:
    """A dark moving gradient with a square: enough structure to see motion, cheap to make."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(n):
        base = 20 + 15 * np.sin((xx + 3 * t) / 7.0) + 10 * np.cos(yy / 5.0)
        img = np.stack([base, base * 0.8, base * 0.6], axis=-1)
        img[height // 4: height // 2, (t * 2) % width: (t * 2) % width + width // 5] += 40
        img += rng.normal(0, 2, img.shape)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 12, codec: str = "libx264",
               with_audio: bool = False, rotation: int = 0, pix_fmt: str | None = None,
               color: VideoColor | None = None, options: dict | None = None) -> Path:
    """Write frames (uint8, or uint16 for 16-bit RGB) with PyAV: optionally with a sine audio track, to test audio
    copying; a display rotation in degrees counter-clockwise, as phones store portrait clips; a colour description
    (matrix, range, primaries, transfer), by which the frames are converted and which the stream records."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height = w, h
        if rotation:
            stream.set_display_rotation(rotation)
        stream.pix_fmt = pix_fmt or ("yuv420p" if codec == "libx264" else "yuv444p" if codec == "ffv1"
                                     else stream.pix_fmt)
        if color is not None:
            context = stream.codec_context
            context.colorspace, context.color_range = color.colorspace, color.color_range
            context.color_primaries, context.color_trc = color.primaries, color.trc
        audio = out.add_stream("aac", rate=16000) if with_audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le" if rgb.dtype == np.uint16 else "rgb24")
            if color is not None:
                frame = frame.reformat(format=stream.pix_fmt, dst_colorspace=color.colorspace,
                                       dst_color_range=color.color_range)
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if audio is not None:
            samples = int(16000 * len(frames) / fps)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 16000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, start
                out.mux(audio.encode(chunk))
            out.mux(audio.encode(None))
    return path


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """An official-architecture network of width 8 saved as safetensors: fast on CPU, real code path."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_model(build_model("official", width=8), path)
    return path


# Smallest sensible value per config field name, so a registry-generated test runs in well under a second.
TINY_CONFIG = {"width": 8, "half_width": 4, "quarter_width": 8, "heads": 2}


def tiny_model(arch: str):
    """A registered network at its smallest widths (fields a config lacks are skipped), seeded."""
    import dataclasses

    from llve.models import ARCHITECTURES

    fields = {f.name for f in dataclasses.fields(ARCHITECTURES[arch][1])}
    torch.manual_seed(0)
    return build_model(arch, **{k: v for k, v in TINY_CONFIG.items() if k in fields})


def pytest_configure(config):
    # One intra-op thread: the tests' tensors are tiny, and two OpenMP threads on a loaded 2-core machine stall.
    torch.set_num_threads(1)
