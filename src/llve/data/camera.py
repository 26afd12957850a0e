"""A simulated low-light camera: what a camera records of a clean frame in the dark (behind `llve synth`).

The model follows how a camera forms a dark image (documented in docs/synthesis.md):

1. sRGB -> linear light with the inverse sRGB transfer curve;
2. exposure: multiply by ``exposure`` (1/100 .. 1/2) and by a per-channel colour cast (white-balance error);
3. sensor noise at the sensor: ``photons = Poisson(x * full_well)``, then ``+ Normal(0, read_noise)`` in the
   same normalised units, so ``Var[x_noisy] = x / full_well + read_noise**2`` grows linearly with the signal;
4. what real cameras add on top: low-frequency chroma noise (colour blotches left by demosaicing and the
   camera's own denoiser) and row/column banding (per-line read-out offsets);
5. back to sRGB with the forward curve, then the camera's own tone curve: a black level that crushes the
   deepest shadows and an S-shaped contrast curve (a dark capture is not a gain of the reference: real LOL pairs
   differ by such a curve, not by a factor), clip, quantise to 8 bits;
6. compression, as footage is compressed before anyone enhances it: a JPEG round trip, or a real H.264 / HEVC
   round trip through PyAV (:func:`codec_round_trip`; a whole sequence at once, so inter-frame prediction and its
   artefacts are real).

A real camera keeps its noise model for a whole sequence, so parameters are drawn once per sequence from a
seed and written to a sidecar JSON next to the frames.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from llve.core.image import linear_to_srgb, srgb_to_linear


@dataclass(frozen=True)
class LowLightParams:
    """One sequence's camera. Args: exposure: linear brightness scale (1/20 .. 1/4 by default); cast: per-channel
    (R, G, B) gains, mean 1; full_well: photo-electrons at the (pre-exposure) white level (shot noise variance is
    x / full_well); read_noise, chroma, banding: standard deviations in linear [0, 1] units of the Gaussian read noise,
    of the low-frequency colour noise (per channel) and of the per-row and per-column offsets; seed: of the noise
    stream, so a sequence is reproducible; jpeg_quality: 0 for none, else the JPEG quality of the dark frame;
    black_level: share of the sRGB range crushed to black; contrast: exponent of the S-curve ``y^c / (y^c + (1-y)^c)``
    (1: none); codec: ``""``, ``h264`` or ``hevc``, with quality ``crf`` (x264/x265 constant rate factor)."""

    exposure: float
    cast: tuple[float, float, float]
    full_well: float
    read_noise: float
    seed: int
    chroma: float = 0.0
    banding: float = 0.0
    jpeg_quality: int = 0
    black_level: float = 0.0
    contrast: float = 1.0
    codec: str = ""
    crf: int = 23


@dataclass(frozen=True)
class SynthRanges:
    """Ranges parameters are drawn from (log-uniform for scales). Args mirror :class:`LowLightParams`."""

    exposure: tuple[float, float] = (1 / 100, 1 / 2)
    cast_strength: float = 0.1
    full_well: tuple[float, float] = (300.0, 3000.0)
    read_noise: tuple[float, float] = (0.0005, 0.004)
    chroma: tuple[float, float] = (0.0, 0.003)
    banding: tuple[float, float] = (0.0, 0.0015)
    jpeg: float = 0.5                               # probability of compression
    jpeg_quality: tuple[int, int] = (40, 90)
    black_level: tuple[float, float] = (0.0, 0.0)   # (0.0, 0.03) for a camera that crushes its shadows
    contrast: tuple[float, float] = (1.0, 1.0)      # (1.0, 1.5) for a camera's S-shaped tone curve
    codec: float = 0.0                              # probability of a video codec round trip instead of JPEG
    crf: tuple[int, int] = (20, 32)


def draw_params(rng: np.random.Generator, ranges: SynthRanges = SynthRanges()) -> LowLightParams:
    def log_uniform(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    cast = 1.0 + rng.uniform(-ranges.cast_strength, ranges.cast_strength, 3)
    cast = cast / cast.mean()
    quality = int(rng.integers(ranges.jpeg_quality[0], ranges.jpeg_quality[1] + 1)) if rng.random() < ranges.jpeg else 0
    codec = ("h264", "hevc")[int(rng.integers(2))] if rng.random() < ranges.codec else ""
    return LowLightParams(exposure=log_uniform(*ranges.exposure), cast=tuple(float(c) for c in cast),
                          full_well=log_uniform(*ranges.full_well), read_noise=log_uniform(*ranges.read_noise),
                          seed=int(rng.integers(2**31)), chroma=float(rng.uniform(*ranges.chroma)),
                          banding=float(rng.uniform(*ranges.banding)), jpeg_quality=0 if codec else quality,
                          black_level=float(rng.uniform(*ranges.black_level)),
                          contrast=float(rng.uniform(*ranges.contrast)), codec=codec,
                          crf=int(rng.integers(ranges.crf[0], ranges.crf[1] + 1)))


def darken_linear(linear: np.ndarray, p: LowLightParams, rng: np.random.Generator) -> np.ndarray:
    """Steps 2-4 in linear light: exposure, colour cast, shot and read noise, chroma noise and banding."""
    signal = np.clip(linear * p.exposure * np.asarray(p.cast), 0.0, 1.0)
    noisy = rng.poisson(signal * p.full_well) / p.full_well + rng.normal(0.0, p.read_noise, signal.shape)
    h, w = signal.shape[:2]
    if p.chroma > 0:  # colour blotches about 4 pixels wide: coarse per-channel noise, smoothly upsampled
        coarse = rng.normal(0.0, p.chroma, (max(h // 4, 1), max(w // 4, 1), 3)).astype(np.float32)
        noisy = noisy + cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    if p.banding > 0:
        noisy = noisy + rng.normal(0.0, p.banding, (h, 1, 1)) + rng.normal(0.0, p.banding, (1, w, 1))
    return noisy


def compress(rgb: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip of an HxWx3 uint8 RGB frame (what a codec does to a dark frame's shadows)."""
    ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1].copy() if ok else rgb


def tone_curve(srgb: np.ndarray, black_level: float, contrast: float) -> np.ndarray:
    """The camera's rendering of sRGB values in [0, 1]: shadows below ``black_level`` crushed to black, then an
    S-curve of exponent ``contrast`` about mid-grey (deeper shadows, brighter highlights)."""
    y = np.clip((srgb - black_level) / (1.0 - black_level), 0.0, 1.0)
    if contrast == 1.0:
        return y
    a, b = np.power(y, contrast), np.power(1.0 - y, contrast)
    return a / np.maximum(a + b, 1e-12)


MIN_CODEC_SIZE = 64  # pixels: x265 refuses frames much smaller than its 64x64 coding tree units


def codec_round_trip(frames: list[np.ndarray], codec: str, crf: int) -> list[np.ndarray]:
    """HxWx3 uint8 RGB frames through a real H.264 or HEVC encoder and decoder (PyAV, 4:2:0, in memory).

    Frames are edge-padded to even sizes of at least MIN_CODEC_SIZE (x265 refuses smaller ones) and cropped back.
    """
    import io

    encoder = {"h264": "libx264", "hevc": "libx265"}[codec]
    h, w = frames[0].shape[:2]
    ph, pw = max(h + h % 2, MIN_CODEC_SIZE), max(w + w % 2, MIN_CODEC_SIZE)
    padded = [np.pad(f, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge") for f in frames]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream(encoder, rate=24)
        stream.width, stream.height, stream.pix_fmt = pw, ph, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "fast"}
        if encoder == "libx265":
            stream.options = {**stream.options, "x265-params": "log-level=error"}
        for i, f in enumerate(padded):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            frame.pts = i  # in the stream's 1/24 s time base: packets get increasing timestamps
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer, "r") as src:
        return [fr.to_ndarray(format="rgb24")[:h, :w] for fr in src.decode(video=0)]


def darken_frames(frames: list[np.ndarray], p: LowLightParams, rng: np.random.Generator) -> list[np.ndarray]:
    """Clean HxWx3 uint8 sRGB frames of one sequence -> their low-light uint8 versions, compressed together."""
    dark = []
    for rgb in frames:
        linear = srgb_to_linear(rgb.astype(np.float64) / 255.0)
        toned = tone_curve(linear_to_srgb(darken_linear(linear, p, rng)), p.black_level, p.contrast)
        dark.append(np.round(toned * 255.0).astype(np.uint8))
    if p.codec:
        try:
            return codec_round_trip(dark, p.codec, p.crf)
        except av.FFmpegError:  # an encoder that refuses these frames: JPEG's blocks stand in for the codec's
            quality = int(np.clip(130 - 3 * p.crf, 30, 95))  # CRF 20 ~ JPEG q70, CRF 32 ~ q34
            return [compress(d, quality) for d in dark]
    return [compress(d, p.jpeg_quality) for d in dark] if p.jpeg_quality else dark


def darken(rgb: np.ndarray, p: LowLightParams, rng: np.random.Generator) -> np.ndarray:
    """One clean HxWx3 uint8 sRGB frame -> its low-light uint8 version."""
    return darken_frames([rgb], p, rng)[0]


def _shoulder_rate(gain: float, knee: float) -> float:
    """Rate ``a`` of the exponential shoulder that leaves ``knee`` with slope 1 and reaches 1 exactly at ``gain``."""
    lo, hi = 1e-6, 200.0
    for _ in range(60):  # slope (1 - knee) a / (1 - exp(-a (gain - knee))) grows with a: bisect for 1
        a = (lo + hi) / 2
        slope = (1 - knee) * a / -np.expm1(-a * (gain - knee))
        lo, hi = (a, hi) if slope < 1 else (lo, a)
    return (lo + hi) / 2


def reexpose(rgb: np.ndarray, gain: float, knee: float = 0.6) -> np.ndarray:
    """A clean HxWx3 uint8 sRGB frame as if exposed ``gain`` times longer, to make training targets of any brightness.

    In linear light: multiply by ``gain``. Brightening would push highlights past white; instead, above ``knee`` a
    smooth exponential shoulder (slope 1 at the knee) maps ``[knee, gain]`` onto ``[knee, 1]``: the brightest input
    reaches white, nothing new clips, and highlight detail survives, so the network learns to keep it at every
    target (docs/exposure.md). Darkening (``gain <= 1``) is a plain multiplication.
    """
    x = srgb_to_linear(rgb.astype(np.float64) / 255.0) * gain
    if gain > 1:
        a = _shoulder_rate(gain, knee)
        rolled = knee + (1 - knee) * -np.expm1(-a * (x - knee)) / -np.expm1(-a * (gain - knee))
        x = np.where(x > knee, rolled, x)
    return np.round(linear_to_srgb(x) * 255.0).astype(np.uint8)


def write_sidecar(path: Path, p: LowLightParams, source: str, frames: int) -> None:
    from llve.core.atomic import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps({"source": source, "frames": frames, "model": "srgb-linear-exposure-poisson-gauss",
                                   **dataclasses.asdict(p)}, indent=2))
