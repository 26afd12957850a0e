"""The STCD training signal: reconstruction, structure-aware smoothness of S, cross-frame consistency of R.

R and S are never supervised directly. Three terms shape them:

* reconstruction — Charbonnier ``sqrt(d^2 + 1e-6)`` between each enhanced frame ``Y = R * S`` and its ground truth;
* smoothness — S (the view-dependent, shading-like term) must be smooth except where the ground truth has edges;
* consistency — R (the view-independent term) of frame 1 must equal R of frame 2 warped into frame 1 along the
  ground-truth correspondences, weighted by their certainty.

Two optional terms value structure, which a per-pixel loss alone lets smoothing buy cheaply (off by default, as in
the paper): ``structure`` is ``1 - SSIM`` of Y against the ground truth, ``gradient`` the Charbonnier distance of
their horizontal and vertical differences (texture and edges). A third, ``histogram``, values the picture's range:
the L1 distance between the sorted luma of Y and of the ground truth (their brightness distributions, wherever the
pixels are), which a grey, low-contrast picture misses even where each of its pixels is a safe guess.

Each term function returns **per-sample sums** of shape ``(B,)``; :func:`stcd_loss` reduces them.

Reductions (``reduction`` argument):

* ``"sum"`` reproduces the official code exactly: reconstruction and smoothness are summed over the batch, the
  consistency term is averaged over the batch (as upstream does), every term is summed over pixels and channels.
  Its magnitude grows with the frame size and the batch size.
* ``"mean"`` (default) takes the batch mean of every term and divides it by ``3 * H * W``, the number of values in
  one frame. At batch size 1 this is exactly the ``"sum"`` loss divided by ``3 * H * W``, so the relative weights of
  the terms are the official ones at every resolution, and the loss value (what TensorBoard shows, what gradient
  clipping and Adam's epsilon see) no longer depends on the crop size or the batch size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F

from llve.core.image import LUMA
from llve.data.datasets import TrainBatch
from llve.flow.warp import warp

CHARBONNIER_EPS = 1e-6


def charbonnier(a: torch.Tensor, b: torch.Tensor, eps: float = CHARBONNIER_EPS) -> torch.Tensor:
    """Per-sample sum of ``sqrt((a - b)^2 + eps)`` over channels and pixels, shape ``(B,)``."""
    return torch.sqrt((a - b) ** 2 + eps).flatten(1).sum(1)


def luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of an RGB batch ``(B, 3, H, W) -> (B, 1, H, W)``."""
    r, g, b = x.unbind(1)
    return (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b).unsqueeze(1)


def smoothness(s: torch.Tensor, gt: torch.Tensor, alpha: float = 1.2, beta: float = 1.5,
               eps: float = 1e-4) -> torch.Tensor:
    """Structure-aware smoothness of S guided by the ground truth, per-sample sums ``(B,)``.

    With ``g = log(luma(gt) + eps)``, ``w_x = beta / (|d_x g|^alpha + eps)`` (likewise ``w_y``), the loss is
    ``sum(w_x (d_x S)^2 + w_y (d_y S)^2) / 2``: gradients of S cost a lot where the ground truth is flat and
    little across its edges. As upstream, differences are taken on the top-left ``(H-1) x (W-1)`` pixels.
    """
    g = torch.log(luma(gt) + eps)
    corner = (..., slice(None, -1), slice(None, -1))
    right = (..., slice(None, -1), slice(1, None))
    below = (..., slice(1, None), slice(None, -1))
    w_x = beta / ((g[corner] - g[right]).abs() ** alpha + eps)
    w_y = beta / ((g[corner] - g[below]).abs() ** alpha + eps)
    energy = w_x * (s[corner] - s[right]) ** 2 + w_y * (s[corner] - s[below]) ** 2  # (B, 3, H-1, W-1)
    return energy.flatten(1).sum(1) / 2


def consistency(r1: torch.Tensor, r2: torch.Tensor, flow12: torch.Tensor, flow21: torch.Tensor,
                cert1: torch.Tensor, cert2: torch.Tensor) -> torch.Tensor:
    """Cross-frame consistency of the view-independent term R, per-sample sums ``(B,)``.

    ``flow12`` (B, 2, H, W) maps each pixel of frame 1 to frame 2 (pixel displacements x, y); ``cert1``
    (B, 1, H, W) in [0, 1] says how much to trust it. R2 is warped into frame 1 and R1 into frame 2:
    ``(Charb(c1 R1, c1 warp(R2, f12)) + Charb(c2 R2, c2 warp(R1, f21))) / 2``.
    """
    return (charbonnier(cert1 * r1, cert1 * warp(r2, flow12)) + charbonnier(cert2 * r2, cert2 * warp(r1, flow21))) / 2


def structure(y: torch.Tensor, gt: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    """``1 - SSIM`` per pixel and channel (11x11 Gaussian window, the metric's constants), per-sample sums ``(B,)``."""
    radius = 5
    grid = torch.arange(-radius, radius + 1, dtype=y.dtype, device=y.device)
    g = torch.exp(-grid ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(y.shape[1], 1, -1, -1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, [radius] * 4, mode="reflect"), kernel, groups=y.shape[1])

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_y, mu_g = blur(y), blur(gt)
    var_y, var_g = blur(y * y) - mu_y ** 2, blur(gt * gt) - mu_g ** 2
    cov = blur(y * gt) - mu_y * mu_g
    ssim = ((2 * mu_y * mu_g + c1) * (2 * cov + c2)) / ((mu_y ** 2 + mu_g ** 2 + c1) * (var_y + var_g + c2))
    return (1 - ssim).flatten(1).sum(1)


def histogram(y: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """L1 distance of the sorted luma values of Y and the ground truth (the 1-D Wasserstein distance of their
    brightness distributions), per-sample sums ``(B,)`` over pixels, times 3 (the channels of the other terms)."""
    def ranked(x: torch.Tensor) -> torch.Tensor:
        return luma(x).flatten(1).sort(dim=1).values

    return 3 * (ranked(y) - ranked(gt)).abs().sum(1)


def gradient(y: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Charbonnier distance of horizontal and vertical neighbour differences, per-sample sums ``(B,)``."""
    dx = charbonnier(y[..., :, 1:] - y[..., :, :-1], gt[..., :, 1:] - gt[..., :, :-1])
    dy = charbonnier(y[..., 1:, :] - y[..., :-1, :], gt[..., 1:, :] - gt[..., :-1, :])
    return (dx + dy) / 2


@dataclass(frozen=True)
class LossConfig:
    """Args: pixel/smooth/consistency: term weights (official 1.0, 0.1, 0.1); structure/gradient/histogram:
    weights of the structure and range terms (0: off, the official loss); reduction: see the module doc."""

    pixel: float = 1.0
    smooth: float = 0.1
    consistency: float = 0.1
    structure: float = 0.0
    gradient: float = 0.0
    histogram: float = 0.0
    reduction: Literal["mean", "sum"] = "mean"


class LossTerms(NamedTuple):
    """The weighted terms and their total, each a scalar tensor."""

    total: torch.Tensor
    pixel: torch.Tensor
    smooth: torch.Tensor
    consistency: torch.Tensor
    structure: torch.Tensor
    gradient: torch.Tensor
    histogram: torch.Tensor


def stcd_loss(out, batch: TrainBatch, cfg: LossConfig = LossConfig()) -> LossTerms:
    """The full STCD loss for a :class:`~llve.models.PairOutput` ``out`` and the batch it came from.

    Uses the batch's ``gt1, gt2`` (B, 3, H, W), ``flow12, flow21`` (B, 2, H, W) and ``cert1, cert2`` (B, 1, H, W).
    """
    pixel = charbonnier(out.y1, batch.gt1) + charbonnier(out.y2, batch.gt2)
    smooth = (smoothness(out.s1, batch.gt1) + smoothness(out.s2, batch.gt2)) / 2
    cons = consistency(out.r1, out.r2, batch.flow12, batch.flow21, batch.cert1, batch.cert2)
    zero = pixel.new_zeros(pixel.shape)
    struct = (structure(out.y1, batch.gt1) + structure(out.y2, batch.gt2)) / 2 if cfg.structure else zero
    grad = (gradient(out.y1, batch.gt1) + gradient(out.y2, batch.gt2)) / 2 if cfg.gradient else zero
    hist = (histogram(out.y1, batch.gt1) + histogram(out.y2, batch.gt2)) / 2 if cfg.histogram else zero
    terms = (pixel, smooth, cons, struct, grad, hist)
    if cfg.reduction == "sum":  # official: batch sums, except the consistency term which upstream averages
        terms = tuple(t.mean() if t is cons else t.sum() for t in terms)
    else:
        values = out.y1[0].numel()  # 3 * H * W
        terms = tuple(t.mean() / values for t in terms)
    weights = (cfg.pixel, cfg.smooth, cfg.consistency, cfg.structure, cfg.gradient, cfg.histogram)
    terms = tuple(w * t for w, t in zip(weights, terms))
    return LossTerms(sum(terms), *terms)
