"""A simulated low-light camera: what a camera records of a clean frame in the dark (behind `llve synth`).

The model follows how a camera forms a dark image (documented in docs/synthesis.md):

1. sRGB -> linear light with the inverse sRGB transfer curve;
2. exposure: multiply by ``exposure`` (1/100 .. 1/2) and by a per-channel colour cast (white-balance error);
3. sensor noise at the sensor: ``photons = Poisson(x * full_well)``, then ``+ Normal(0, read_noise)`` in the
   same normalised units, so ``Var[x_noisy] = x / full_well + read_noise**2`` grows linearly with the signal;
4. what real cameras add on top: low-frequency chroma noise (colour blotches left by demosaicing and the
   camera's own denoiser) and row/column banding (per-line read-out offsets);
5. back to sRGB with the forward curve, clip, quantise to 8 bits; optionally JPEG-compress the dark frame, as a
   phone's video codec compresses dark footage (blocks, lost shadow detail).

A real camera keeps its noise model for a whole sequence, so parameters are drawn once per sequence from a
seed and written to a sidecar JSON next to the frames.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from llve.core.image import linear_to_srgb, srgb_to_linear


@dataclass(frozen=True)
class LowLightParams:
    """One sequence's camera. Args: exposure: linear brightness scale (1/20 .. 1/4 by default); cast: per-channel
    (R, G, B) gains, mean 1; full_well: photo-electrons at the (pre-exposure) white level (shot noise variance is
    x / full_well); read_noise, chroma, banding: standard deviations in linear [0, 1] units of the Gaussian read noise,
    of the low-frequency colour noise (per channel) and of the per-row and per-column offsets; seed: of the noise
    stream, so a sequence is reproducible; jpeg_quality: 0 for none, else the JPEG quality of the dark frame."""

    exposure: float
    cast: tuple[float, float, float]
    full_well: float
    read_noise: float
    seed: int
    chroma: float = 0.0
    banding: float = 0.0
    jpeg_quality: int = 0


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


def draw_params(rng: np.random.Generator, ranges: SynthRanges = SynthRanges()) -> LowLightParams:
    def log_uniform(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    cast = 1.0 + rng.uniform(-ranges.cast_strength, ranges.cast_strength, 3)
    cast = cast / cast.mean()
    quality = int(rng.integers(ranges.jpeg_quality[0], ranges.jpeg_quality[1] + 1)) if rng.random() < ranges.jpeg else 0
    return LowLightParams(exposure=log_uniform(*ranges.exposure), cast=tuple(float(c) for c in cast),
                          full_well=log_uniform(*ranges.full_well), read_noise=log_uniform(*ranges.read_noise),
                          seed=int(rng.integers(2**31)), chroma=float(rng.uniform(*ranges.chroma)),
                          banding=float(rng.uniform(*ranges.banding)), jpeg_quality=quality)


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


def darken(rgb: np.ndarray, p: LowLightParams, rng: np.random.Generator) -> np.ndarray:
    """One clean HxWx3 uint8 sRGB frame -> its low-light uint8 version."""
    linear = srgb_to_linear(rgb.astype(np.float64) / 255.0)
    dark = np.round(linear_to_srgb(darken_linear(linear, p, rng)) * 255.0).astype(np.uint8)
    return compress(dark, p.jpeg_quality) if p.jpeg_quality else dark


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
