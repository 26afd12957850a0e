"""Realistic low-light synthesis: clean footage -> paired (dark, clean) frames, in the generic folder layout.

The model follows how a camera forms a dark image (documented in docs/synthesis.md):

1. sRGB -> linear light with the inverse sRGB transfer curve;
2. exposure: multiply by ``exposure`` (1/20 .. 1/4) and by a per-channel colour cast (white-balance error);
3. sensor noise at the sensor: ``photons = Poisson(x * full_well)``, then ``+ Normal(0, read_noise)`` in the
   same normalised units, so ``Var[x_noisy] = x / full_well + read_noise**2`` grows linearly with the signal;
4. back to sRGB with the forward curve, clip, quantise to 8 bits.

A real camera keeps its noise model for a whole sequence, so parameters are drawn once per sequence from a
seed and written to a sidecar JSON next to the frames.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


@dataclass(frozen=True)
class LowLightParams:
    """One sequence's camera: exposure scale, colour cast (R, G, B gains), shot- and read-noise levels.

    Args:
        exposure: linear brightness scale (1/20 .. 1/4 by default).
        cast: per-channel gains, mean 1.
        full_well: photo-electrons at the (pre-exposure) white level; shot noise variance is x / full_well.
        read_noise: standard deviation of the Gaussian read noise, in linear [0, 1] units.
        seed: seed of the noise stream, so a sequence is reproducible.
    """

    exposure: float
    cast: tuple[float, float, float]
    full_well: float
    read_noise: float
    seed: int


@dataclass(frozen=True)
class SynthRanges:
    """Ranges parameters are drawn from (log-uniform for scales). Args mirror :class:`LowLightParams`."""

    exposure: tuple[float, float] = (1 / 20, 1 / 4)
    cast_strength: float = 0.1
    full_well: tuple[float, float] = (300.0, 3000.0)
    read_noise: tuple[float, float] = (0.0005, 0.004)


def draw_params(rng: np.random.Generator, ranges: SynthRanges = SynthRanges()) -> LowLightParams:
    def log_uniform(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    cast = 1.0 + rng.uniform(-ranges.cast_strength, ranges.cast_strength, 3)
    cast = cast / cast.mean()
    return LowLightParams(exposure=log_uniform(*ranges.exposure), cast=tuple(float(c) for c in cast),
                          full_well=log_uniform(*ranges.full_well), read_noise=log_uniform(*ranges.read_noise),
                          seed=int(rng.integers(2**31)))


def darken_linear(linear: np.ndarray, p: LowLightParams, rng: np.random.Generator) -> np.ndarray:
    """Steps 2-3 in linear light: exposure, colour cast, Poisson shot noise and Gaussian read noise."""
    signal = np.clip(linear * p.exposure * np.asarray(p.cast), 0.0, 1.0)
    shot = rng.poisson(signal * p.full_well) / p.full_well
    return shot + rng.normal(0.0, p.read_noise, signal.shape)


def darken(rgb: np.ndarray, p: LowLightParams, rng: np.random.Generator) -> np.ndarray:
    """One clean HxWx3 uint8 sRGB frame -> its low-light uint8 version."""
    linear = srgb_to_linear(rgb.astype(np.float64) / 255.0)
    return np.round(linear_to_srgb(darken_linear(linear, p, rng)) * 255.0).astype(np.uint8)


def darken_sequence(frames: Iterable[np.ndarray], p: LowLightParams) -> Iterator[np.ndarray]:
    """Darken every frame of a sequence with the same camera; the noise differs per frame, as in a video."""
    rng = np.random.default_rng(p.seed)
    for rgb in frames:
        yield darken(rgb, p, rng)


def write_sidecar(path: Path, p: LowLightParams, source: str, frames: int) -> None:
    from llve.atomic import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps({"source": source, "frames": frames, "model": "srgb-linear-exposure-poisson-gauss",
                                   **dataclasses.asdict(p)}, indent=2))
