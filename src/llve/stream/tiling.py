"""Enhance large frames in bounded memory: overlapping tiles, blended seams.

A network's activation memory grows with the frame's pixel count (the official network holds several
64-channel full-resolution maps: gigabytes at 4K). :func:`blend_tiles` runs the pair through the network one
``tile`` x ``tile`` window at a time - the same window of both frames, so the cross-frame interaction still sees
corresponding content - and blends neighbouring windows with linear ramps across their overlap, so no seam shows.

Caveat, by design of STCD: its channel attention pools statistics over all pixels it is given. Inside a tile it
sees only that tile, so a tiled result differs from the untiled one (docs/speed.md gives the PSNR between them on
a 1080p frame). Larger tiles and overlaps make the difference smaller. Networks that offer
``decompose_first_tiled`` (the fast one) avoid it: their attention runs at 1/8 resolution on the whole frame and
only their local, full-resolution decoders are tiled, which reproduces the untiled result.

R and S are blended; Y is recomputed as R * S so the decomposition stays exact. Which tiling a network gets is
decided in one place, :class:`llve.stream.pipeline.PairStep`; :func:`llve.stream.pipeline.decompose_pair` tiles one
pair.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from llve.models import Decomposition

MIN_TILE = 64


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Window starts covering ``[0, length)`` with windows of ``tile`` overlapping by at least ``overlap``."""
    if length <= tile:
        return [0]
    return [*range(0, length - tile, tile - overlap), length - tile]


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


def blend_tiles(x1: torch.Tensor, x2: torch.Tensor, tile: int, overlap: int,
                decompose: Callable[[torch.Tensor, torch.Tensor], Decomposition]) -> Decomposition:
    """Frame 1's decomposition assembled from ``decompose(window of x1, same window of x2)`` over overlapping
    ``tile`` x ``tile`` windows of the (B, 3, H, W) frames, neighbours blended by :func:`ramp` weights."""
    b, _, h, w = x1.shape
    r_sum = x1.new_zeros(b, 3, h, w, dtype=torch.float32)
    s_sum = torch.zeros_like(r_sum)
    weight = x1.new_zeros(1, 1, h, w, dtype=torch.float32)
    th, tw = min(tile, h), min(tile, w)
    for top in tile_starts(h, tile, overlap):
        wy = ramp(h, top, th, overlap, x1.device, torch.float32)
        for left in tile_starts(w, tile, overlap):
            wx = ramp(w, left, tw, overlap, x1.device, torch.float32)
            window = (..., slice(top, top + th), slice(left, left + tw))
            d = decompose(x1[window], x2[window])
            blend = wy[:, None] * wx[None, :]  # (th, tw)
            r_sum[window] += d.r.float() * blend
            s_sum[window] += d.s.float() * blend
            weight[window] += blend
    r, s = r_sum / weight, s_sum / weight
    return Decomposition(r * s, r, s)
