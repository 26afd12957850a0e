"""Enhance large frames in bounded memory: overlapping tiles, blended seams.

A network's activation memory grows with the frame's pixel count (the official network holds several
64-channel full-resolution maps: gigabytes at 4K). :func:`decompose_tiled` runs the pair through the network one
``tile`` x ``tile`` window at a time - the same window of both frames, so the cross-frame interaction still sees
corresponding content - and blends neighbouring windows with linear ramps across their overlap, so no seam shows.

Caveat, by design of STCD: its channel attention pools statistics over all pixels it is given. Inside a tile it
sees only that tile, so a tiled result differs from the untiled one (docs/speed.md gives the PSNR between them on
a 1080p frame). Larger tiles and overlaps make the difference smaller. Networks that offer
``decompose_first_tiled`` (the fast one) avoid it: their attention runs at 1/8 resolution on the whole frame and
only their local, full-resolution decoders are tiled, which reproduces the untiled result.

R and S are blended; Y is recomputed as R * S so the decomposition stays exact.
"""
from __future__ import annotations

import math

import torch

from llve.errors import UserInputError
from llve.models import Decomposition
from llve.models.padding import Padder

MIN_TILE = 64


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Window starts covering ``[0, length)`` with windows of ``tile`` overlapping by at least ``overlap``."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def ramp(length: int, start: int, size: int, overlap: int, device, dtype) -> torch.Tensor:
    """1-D blend weight of one window: 1 inside, rising linearly over ``overlap`` at edges that meet a neighbour.

    Weights stay strictly positive, so every pixel's total weight is positive and the normalisation is safe.
    """
    w = torch.ones(size, device=device, dtype=dtype)
    n = min(overlap, size)
    if n:
        up = (torch.arange(n, device=device, dtype=dtype) + 0.5) / n
        if start > 0:
            w[:n] = up
        if start + size < length:
            w[-n:] = torch.minimum(w[-n:], up.flip(0))
    return w


def _decompose(model, x1: torch.Tensor, x2: torch.Tensor) -> Decomposition:
    padder = Padder(x1.shape[-2], x1.shape[-1], model.size_multiple)
    d = model.decompose_first(model.encode(padder.pad(x1)), model.encode(padder.pad(x2)))
    return Decomposition(*(padder.crop(t) for t in d))


def decompose_tiled(model, x1: torch.Tensor, x2: torch.Tensor, tile: int, overlap: int | None = None
                    ) -> Decomposition:
    """Frame 1's decomposition with frame 2 as partner, computed in overlapping tiles.

    Args:
        model: any registered network (``encode`` / ``decompose_first`` / ``size_multiple``).
        x1, x2: (B, 3, H, W) frames in [0, 1], any size (tiles are padded with :class:`Padder`).
        tile: window side in pixels; frames not larger than it run in one piece.
        overlap: pixels shared by neighbouring windows (default ``tile // 8``).
    """
    if tile < MIN_TILE:
        raise UserInputError(f"tile size {tile} is too small (at least {MIN_TILE} pixels)")
    overlap = tile // 8 if overlap is None else overlap
    if not 0 <= overlap <= tile // 2:
        raise UserInputError(f"tile overlap {overlap} must be between 0 and half the tile ({tile // 2})")
    if x1.shape != x2.shape:
        raise UserInputError(f"frames of a pair differ in size: {tuple(x1.shape)} vs {tuple(x2.shape)}")
    b, _, h, w = x1.shape
    if h <= tile and w <= tile:
        return _decompose(model, x1, x2)
    if hasattr(model, "decompose_first_tiled"):  # exact: only the local decoders are tiled (see FastSTCD)
        padder = Padder(h, w, model.size_multiple)
        d = model.decompose_first_tiled(model.encode(padder.pad(x1)), model.encode(padder.pad(x2)), tile)
        return Decomposition(*(padder.crop(t) for t in d))
    r_sum = x1.new_zeros(b, 3, h, w, dtype=torch.float32)
    s_sum = torch.zeros_like(r_sum)
    weight = x1.new_zeros(1, 1, h, w, dtype=torch.float32)
    th, tw = min(tile, h), min(tile, w)
    for top in tile_starts(h, tile, overlap):
        wy = ramp(h, top, th, overlap, x1.device, torch.float32)
        for left in tile_starts(w, tile, overlap):
            wx = ramp(w, left, tw, overlap, x1.device, torch.float32)
            window = (..., slice(top, top + th), slice(left, left + tw))
            d = _decompose(model, x1[window], x2[window])
            blend = wy[:, None] * wx[None, :]  # (th, tw)
            r_sum[window] += d.r.float() * blend
            s_sum[window] += d.s.float() * blend
            weight[window] += blend
    r, s = r_sum / weight, s_sum / weight
    return Decomposition(r * s, r, s)


def tiling_psnr(model, x1: torch.Tensor, x2: torch.Tensor, tile: int, overlap: int | None = None) -> float:
    """PSNR (dB) of the tiled enhancement of frame 1 against the untiled one: the price of bounded memory."""
    with torch.inference_mode():
        whole = _decompose(model, x1, x2).y.clamp(0, 1)
        tiled = decompose_tiled(model, x1, x2, tile, overlap).y.clamp(0, 1)
    mse = (whole - tiled).pow(2).mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(1 / mse)
