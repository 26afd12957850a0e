"""GuidedSTCD: the fast network at low resolution, applied to every full-resolution pixel by a guided filter.

Illumination is smooth and the network's judgement (how bright, which colour, what is noise) needs context, not
pixels, so the decomposition runs on the frame shrunk to about ``low_side`` pixels on its short side. Full
resolution then sees only a few cheap per-pixel operations (He and Sun's fast guided filter, 2015, as HDRNet and the
deep guided filter apply a low-resolution operator to a full-resolution image):

* at low resolution, in every window, the enhanced frame is fitted as an affine function of the input,
  ``y ~ a * x + b`` per channel; where the window is flat or its variation is noise that the network removed, the
  fit's slope ``a`` falls towards 0 and the window's mean brightness remains;
* ``a`` and ``b`` are upsampled bilinearly and applied to the full-resolution input (S, illumination, is carried
  this way: smooth, with its edges where the input has them);
* Y takes its fine scales from the input itself (``detail > 0``, frames shrunk 2x or more): the input's
  full-resolution detail (the input minus its low-resolution version) is brightened by the network's local gain
  and kept where it stands out of the frame's noise (a Wiener weight ``1 - detail * noise / local variance``, the
  noise estimated per frame and growing with the signal, as shot noise does); where it is noise, the network's own
  low-resolution result remains. So texture the network cannot see at low resolution is not lost, and noise is not
  brought back. Frames shrunk less than 2x have Y fitted like S;
* R = Y / S, and Y is recomputed as R * S so the decomposition is exact.

Weights of :class:`llve.models.fast.FastSTCD` load unchanged (same parameters); only the resolution they see and the
upsampling differ.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from llve.models.fast import FastFeatures, FastSTCD, FastSTCDConfig
from llve.models.stcd import Decomposition, PairOutput


@dataclass(frozen=True)
class GuidedSTCDConfig(FastSTCDConfig):
    """Args (besides :class:`FastSTCDConfig`'s):
        low_side: short side, in pixels, of the frame the network sees; larger frames are shrunk to it (smaller
            ones are not enlarged).
        radius: half-width of the guided filter's window at low resolution (pixels).
        eps: regularisation of the fit, relative to the window's squared mean brightness: larger keeps less of
            the input's full-resolution variation (less noise, less texture).
        detail: strength of the noise threshold on the input's own fine detail (0: Y is guided-upsampled like S;
            4: detail whose local variance is below 4x the frame's median is dropped, above it kept increasingly),
            for frames shrunk at least DETAIL_MIN_SHRINK times (below that, Y is guided-upsampled like S).
    """

    low_side: int = 272
    radius: int = 1
    eps: float = 0.01
    detail: float = 4.0

    def __post_init__(self):
        super().__post_init__()
        if self.low_side < 16 or self.radius < 1 or not self.eps > 0 or self.detail < 0:
            raise ValueError(f"low_side must be >= 16, radius >= 1, eps > 0 and detail >= 0 (got {self.low_side}, "
                             f"{self.radius}, {self.eps}, {self.detail})")


MIN_SHRINK = 1.5  # at a shrink of 1.33 (720p at 540) the full-resolution upsampling cost more than it saved
# Below this shrink the network sees the scales the detail measure reads (1-3 pixels) itself: the input's detail
# would bring back mostly noise and codec blocks (on held-out 480p codec video at 1.8x: SSIM 0.655 without it, 0.616
# with it); above it that band is lost to the network and only the input has it (1080p at 4x: detail 0.135 -> 0.34).
DETAIL_MIN_SHRINK = 2.0


class GuidedFeatures(NamedTuple):
    """One frame at both resolutions: the full-resolution input and the low-resolution network's features."""

    full: torch.Tensor  # (B, 3, H, W)
    low: torch.Tensor   # (B, 3, h, w) the input the network saw
    core: FastFeatures
    low_square: torch.Tensor | None = None  # (B, 3, h, w) the input's square shrunk alike, where its detail is kept

    @property
    def pixels(self) -> torch.Tensor:
        """The input as the fast network's features hold it (the stream reads its batch size and device)."""
        return self.core.pixels


def _box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, the border handled by replication: sums of shifted views, rows then columns
    (on a 3x272x480 map 1.2 ms against 4.6 for ``avg_pool2d``, which equals it within float rounding)."""
    height, width = x.shape[-2:]
    padded = F.pad(x, [radius] * 4, mode="replicate")
    rows = sum(padded[..., i:i + width] for i in range(2 * radius + 1))
    return sum(rows[..., i:i + height, :] for i in range(2 * radius + 1)) / (2 * radius + 1) ** 2


def affine_fit(x_low: torch.Tensor, y_low: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """Coefficients ``(a, b)`` of ``y_low ~ a * x_low + b`` per window and channel, smoothed: (B, 6, h, w)."""
    mean_x, mean_y = _box(x_low, radius), _box(y_low, radius)
    var_x = _box(x_low * x_low, radius) - mean_x * mean_x
    cov = _box(x_low * y_low, radius) - mean_x * mean_y
    a = cov / (var_x.clamp_min(0) + eps * (mean_x * mean_x + 1e-4))  # eps relative to the window's brightness
    b = mean_y - a * mean_x
    return torch.cat([_box(a, radius), _box(b, radius)], 1)


def _shrink(x: torch.Tensor, size) -> torch.Tensor:
    """Area average to ``size`` (in the plain layout: pooling channels-last frames is several times slower)."""
    return F.adaptive_avg_pool2d(x.contiguous(), size)


def _shrunk_with_square(x: torch.Tensor, size, square: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``_shrink(x, size)`` and, with ``square``, ``_shrink(x * x, size)``. A channels-last frame without autograd
    (the stream's) is copied once to the plain layout that pooling needs, shrunk, then squared in that copy: one
    full-resolution buffer for both instead of three (equal: tested)."""
    plain = x.contiguous()
    low = _shrink(plain, size)
    if not square:
        return low, None
    if plain is x or torch.is_grad_enabled():
        return low, _shrink(x * x, size)
    return low, _shrink(plain.mul_(plain), size)


def _up(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def noise_floor(local: torch.Tensor, share: float = 0.5) -> torch.Tensor:
    """Per-image variance of the detail that is not texture: the median of the local detail variance (B, 1, 1, 1).

    Most of a dark frame's fine detail is noise, and a compressed frame's is block edges and ringing that leave
    the finest Haar coefficients at zero (a median-absolute-deviation estimate then reads no noise at all); the
    median window of the frame, whatever its fine detail is made of, is what texture must stand out of.
    """
    values = local.mean(1, keepdim=True).flatten(1)
    values = values[:, :: max(1, values.shape[1] // 65536)]  # a median needs no more than ~65k samples
    # torch.quantile's linear interpolation from two selections, not a sort (1 ms against 7 for 65k samples)
    position = share * (values.shape[1] - 1)
    low = int(position)
    below = values.kthvalue(low + 1, dim=1).values
    above = values.kthvalue(min(low + 2, values.shape[1]), dim=1).values
    return (below + (position - low) * (above - below)).view(-1, 1, 1, 1)


def _up_hwc(coefficients: torch.Tensor, size) -> list[torch.Tensor]:
    """:func:`_up` of one CPU frame's ``coefficients`` (1, 12, h, w) in OpenCV, as four (1, 3, H, W) channels-last
    tensors (HxWx3 in memory, what the stream's filters read without copies): at 1920x1080 on 2 cores the whole
    assembly takes about 60-75 ms this way against torch's 120 (its 12-plane interpolation alone takes 95). Equal
    to :func:`_up` within float rounding (tested)."""
    height, width = size
    low = coefficients[0].permute(1, 2, 0).numpy()
    return [torch.from_numpy(cv2.resize(np.ascontiguousarray(low[..., 3 * i:3 * i + 3]), (width, height),
                                        interpolation=cv2.INTER_LINEAR)).permute(2, 0, 1)[None] for i in range(4)]


class GuidedSTCD(FastSTCD):
    """FastSTCD at low resolution plus full-resolution guided upsampling. Frames whose short side is below
    MIN_SHRINK times ``low_side`` are the fast network's exactly (same size multiple, same padding).

    Args:
        cfg: the fast network's settings and the upsampling's, see :class:`GuidedSTCDConfig`.
    """

    def __init__(self, cfg: GuidedSTCDConfig = GuidedSTCDConfig()):
        super().__init__(cfg)

    def as_fast(self) -> FastSTCD:
        """The same parameters as the plain fast network, which runs at full resolution (what ONNX exports: the
        two agree below MIN_SHRINK times ``low_side``)."""
        fields = {f.name: getattr(self.cfg, f.name) for f in dataclasses.fields(FastSTCDConfig)}
        fast = FastSTCD(FastSTCDConfig(**fields))
        fast.load_state_dict(self.state_dict())
        return fast

    def low_size(self, height: int, width: int) -> tuple[int, int]:
        """The network's input size for a frame: short side about ``low_side``, both a multiple of 8; the frame's
        own size below MIN_SHRINK times ``low_side`` (there the upsampling would cost more than it saves)."""
        factor = min(height, width) / self.cfg.low_side
        if factor < MIN_SHRINK:
            return height, width
        return (max(8, 8 * round(height / factor / 8)), max(8, 8 * round(width / factor / 8)))

    def shrunk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Frame ``x`` (B, 3, H, W) at the size the network sees it (:meth:`low_size`), and its square shrunk
        alike where Y keeps the input's own fine detail (``detail`` > 0, shrunk DETAIL_MIN_SHRINK times or more;
        else None)."""
        size = self.low_size(*x.shape[-2:])
        if tuple(x.shape[-2:]) == size:
            return x, None
        keeps_detail = self.cfg.detail > 0 and min(x.shape[-2:]) >= DETAIL_MIN_SHRINK * min(size)
        return _shrunk_with_square(x, size, keeps_detail)

    def encode(self, x: torch.Tensor) -> GuidedFeatures:
        low, square = self.shrunk(x)
        return GuidedFeatures(x, low, super().encode(low), square)

    def upsample(self, d: Decomposition, f: GuidedFeatures) -> Decomposition:
        """The low-resolution decomposition ``d`` at ``f``'s full resolution.

        Everything that can be is computed at low resolution, as per-pixel affine coefficients of the input for Y
        and S, and upsampled in one interpolation; full resolution sees a handful of elementwise operations. On the
        CPU in float32 without autograd (the stream) the coefficients are interpolated by OpenCV (:func:`_up_hwc`);
        otherwise (training, GPU) by torch.
        """
        if f.full.shape[-2:] == f.low.shape[-2:]:
            return d
        cfg, x = self.cfg, f.full
        d = Decomposition(*(t.contiguous() for t in d))
        if f.low_square is None:
            y_fit = affine_fit(f.low, d.y, cfg.radius, cfg.eps)
        else:
            y_fit = self._detail_fit(d.y, f.low, f.low_square)
        coefficients = torch.cat([y_fit, affine_fit(f.low, d.s, cfg.radius, cfg.eps)], 1)
        if x.device.type == "cpu" and x.dtype == torch.float32 and x.shape[0] == 1 and not torch.is_grad_enabled():
            x = x.contiguous(memory_format=torch.channels_last)  # the layout of _up_hwc's planes: no strided passes
            return self._assembled(x, *_up_hwc(coefficients, x.shape[-2:]), in_place=True)
        return self._assembled(x.contiguous(), *_up(coefficients, x.shape[-2:]).chunk(4, 1))

    def _detail_fit(self, y_low: torch.Tensor, x_low: torch.Tensor, square_low: torch.Tensor) -> torch.Tensor:
        """Coefficients ``(a, b)`` of Y as ``a * x + b`` that keep the input's own fine detail: (B, 6, h, w).

        At low resolution: the network's local gain over the input, and how far the input's fine detail stands out
        of the frame's noise: the variance of the full-resolution input within each low-resolution pixel, against
        a floor that grows with the signal (shot noise). The slope is the gain where the detail is signal and falls
        to 0 where it is noise; the offset keeps the network's low-resolution result.
        """
        cfg = self.cfg
        gain = _box(y_low, cfg.radius) / _box(x_low, cfg.radius).clamp_min(1 / 255)
        local = (square_low - x_low * x_low).clamp_(min=0)
        noise = noise_floor(local) * (x_low / x_low.mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-4)).clamp_(0.25, 4)
        slope = gain * (1 - cfg.detail * noise / local.clamp_min(1e-10)).clamp_(0, 1)
        return torch.cat([slope, y_low - slope * x_low], 1)

    @staticmethod
    def _assembled(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, a_s: torch.Tensor, b_s: torch.Tensor,
                   in_place: bool = False) -> Decomposition:
        """Y = a * x + b and S = a_s * x + b_s at full resolution, with R = Y / S in [0, 1] and Y = R * S: Y is
        capped at S (what clamping R to 1 does), in as few full-frame passes as that takes. ``in_place``: written
        into the coefficient planes, which the caller gives up (the stream's CPU path, no autograd): no new
        full-resolution buffers, which at 4K cost more in page faults than in arithmetic (same values: tested)."""
        r_out, y_out, s_out = (a, b, b_s) if in_place else (None, None, None)
        s = torch.addcmul(b_s, a_s, x, out=s_out).clamp_(1e-3, 1)
        y = torch.addcmul(b, a, x, out=y_out).clamp_(min=0)
        y = torch.minimum(y, s, out=y_out)
        return Decomposition(y, torch.div(y, s, out=r_out), s)

    def decompose_first(self, f1: GuidedFeatures, f2: GuidedFeatures,
                        exposure: torch.Tensor | None = None) -> Decomposition:
        return self.upsample(super().decompose_first(f1.core, f2.core, exposure), f1)

    def decompose_first_tiled(self, f1: GuidedFeatures, f2: GuidedFeatures, tile: int,
                              exposure: torch.Tensor | None = None) -> Decomposition:
        """A shrunk frame is decomposed whole (the network sees at most ~``low_side``; full resolution holds a few
        maps); a frame at its own size has the fast network's exact decoder tiles."""
        if f1.full.shape[-2:] == f1.low.shape[-2:]:
            return super().decompose_first_tiled(f1.core, f2.core, tile, exposure)
        return self.decompose_first(f1, f2, exposure)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, exposure1: torch.Tensor | None = None,
                exposure2: torch.Tensor | None = None) -> PairOutput:
        f1, f2 = self.encode(x1), self.encode(x2)
        fused1, fused2 = self.interact(f1.core, f2.core)
        d1 = self.upsample(self.decode(fused1, f1.core, exposure1), f1)
        d2 = self.upsample(self.decode(fused2, f2.core, exposure2), f2)
        return PairOutput(d1.r, d2.r, d1.y, d2.y, d1.s, d2.s)


class GuidedAround:
    """A guided network's shrink and upsampling around another implementation of its low-resolution step (an ONNX
    Runtime session of its fast network, ``llve.run.export``): the results are the guided network's at every size.

    Args: inner: the step (``encode`` / ``decompose_first`` of a fast network, ``exposure_control``); guided: a
    guided network with the settings to use (its own parameters are not used).
    """

    arch = "guided"

    def __init__(self, inner, guided: GuidedSTCD):
        self.inner, self.guided = inner, guided.eval()
        self.exposure_control, self.size_multiple = inner.exposure_control, guided.size_multiple

    def encode(self, x: torch.Tensor) -> GuidedFeatures:
        x = x.detach().float().cpu()
        low, square = self.guided.shrunk(x)
        return GuidedFeatures(x, low, self.inner.encode(low), square)

    def decompose_first(self, f1: GuidedFeatures, f2: GuidedFeatures, exposure: torch.Tensor | None = None
                        ) -> Decomposition:
        with torch.inference_mode():
            return self.guided.upsample(self.inner.decompose_first(f1.core, f2.core, exposure), f1)
