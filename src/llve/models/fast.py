"""FastSTCD: the STCD decomposition and cross-frame interaction, rebuilt for throughput.

The official network spends almost all of its ~350 GFLOPs per 960x512 frame in dense 3x3 convolutions at full
and half resolution (128 -> 256 channels). Here the same algorithm runs where pixels are few:

* the encoder folds 2x2 pixels into channels (pixel-unshuffle) and never convolves at full resolution;
  strided convolutions reach 1/4 and 1/8;
* the cross-frame interaction (self- and cross-channel attention plus a fusion block over both frames, as in
  STCD) runs at 1/8 resolution, where it costs a few hundred multiply-adds per output pixel;
* self-attention depends on one frame only, so it moves into :meth:`FastSTCD.encode` and is cached by the
  streaming enhancer together with the other encoder features: each frame is encoded and self-attended once
  even though it is the partner of its predecessor;
* two light decoders (R view-independent, S view-dependent, as in STCD) upsample with 1x1 convs + pixel-shuffle
  and depthwise-separable blocks; their heads predict 2x2 output pixels per half-resolution position and see the
  unshuffled input; R's decoder ends with one thin full-resolution stage (``refine``) for pixel-level detail;
* everything that pools over the frame runs at 1/8, so :meth:`FastSTCD.decompose_first_tiled` can tile just the
  (convolutional) decoders and still equal the untiled result: bounded memory without tiling artefacts.

The interface equals :class:`llve.models.stcd.STCD`, so training, evaluation and streaming apply unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from llve.models.blocks import CrossAttentionBlock, SelfAttentionBlock, lrelu
from llve.models.stcd import Decomposition, PairOutput

# Target mean luma (sRGB, 0-1) used when a network with exposure control is given none: about LOL's ground truth.
DEFAULT_EXPOSURE = 0.42


class FastFeatures(NamedTuple):
    """Encoder output of one frame; everything that depends on that frame alone, so it is computed once."""

    pixels: torch.Tensor    # (B, 12, H/2, W/2) the input, 2x2 pixels folded into channels
    half: torch.Tensor      # (B, C1, H/2, W/2)
    quarter: torch.Tensor   # (B, C2, H/4, W/4)
    eighth: torch.Tensor    # (B, C3, H/8, W/8) input of the cross-frame interaction
    attended: torch.Tensor  # (B, C3, H/8, W/8) self-attention update of ``eighth`` (STCD's trans1)


@dataclass(frozen=True)
class FastSTCDConfig:
    """Args:
        half_width, quarter_width: channels at 1/2 and 1/4 resolution (the only layers above 1/8).
        width: channels of the cross-frame interaction at 1/8 resolution.
        heads: channel-attention heads (``width`` must divide by it).
        ffn_expansion: hidden-channel factor of the attention blocks' gated feed-forward.
        refine: channels of the R decoder's one thin full-resolution layer (0: none). It sees the input image
            beside R's logits and restores the pixel-level detail that 2x2-pixel heads blur; 8 channels
            bought 0.44 dB (mean of two seeds) for 1.16x the time per frame (docs/speed.md). Weights saved before
            this option
            existed have none (``read_weights`` fills in 0).
        exposure: the S path takes a target brightness (:class:`ExposureModulation`); without it the network
            reproduces the one exposure it was trained on.
    """

    half_width: int = 16
    quarter_width: int = 32
    width: int = 64
    heads: int = 4
    ffn_expansion: float = 2.0
    refine: int = 8
    exposure: bool = False

    def __post_init__(self):
        if min(self.half_width, self.quarter_width, self.width, self.heads) < 1 or self.width % self.heads:
            raise ValueError(f"widths must be positive and width ({self.width}) divisible by heads ({self.heads})")
        if self.refine < 0:
            raise ValueError(f"refine must be >= 0 (got {self.refine})")


class SeparableBlock(nn.Module):
    """Residual depthwise 3x3 + pointwise 1x1: a 3x3 receptive field at ~1/9 of a dense conv's cost."""

    def __init__(self, channels: int):
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.pointwise = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pointwise(lrelu(self.depthwise(x)))


class Upsample(nn.Module):
    """Double the resolution: 1x1 conv to 4x channels, pixel-shuffle, add the encoder skip, refine."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.expand = nn.Conv2d(in_channels, 4 * out_channels, 1)
        self.refine = SeparableBlock(out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.refine(lrelu(F.pixel_shuffle(self.expand(x), 2)) + skip)


class Decoder(nn.Module):
    """1/8 -> 1/2 resolution, then a head predicting 2x2 output pixels per position, optionally corrected by a thin
    full-resolution ``refine`` stage that also sees the input image; sigmoid output in [0, 1]."""

    def __init__(self, cfg: FastSTCDConfig, refine: int = 0):
        super().__init__()
        self.up_quarter = Upsample(2 * cfg.width, cfg.quarter_width)
        self.up_half = Upsample(cfg.quarter_width, cfg.half_width)
        self.head = nn.Conv2d(cfg.half_width + 12, 12, 3, padding=1)
        self.refine = None
        if refine:
            self.refine = nn.Sequential(nn.Conv2d(6, refine, 3, padding=1), nn.LeakyReLU(0.1),
                                        nn.Conv2d(refine, 3, 3, padding=1))

    def forward(self, fused: torch.Tensor, skips: FastFeatures, bias: torch.Tensor | None = None) -> torch.Tensor:
        x = self.up_quarter(fused, skips.quarter)                           # (B, C2, H/4, W/4)
        x = self.up_half(x, skips.half)                                     # (B, C1, H/2, W/2)
        x = F.pixel_shuffle(self.head(torch.cat([x, skips.pixels], 1)), 2)  # (B, 3, H, W)
        if self.refine is not None:
            x = x + self.refine(torch.cat([x, F.pixel_shuffle(skips.pixels, 2)], 1))
        if bias is not None:
            x = x + bias[:, :, None, None]                                  # per-channel logit shift (B, 3)
        return torch.sigmoid(x)


class ExposureModulation(nn.Module):
    """The target brightness as an input of the S path: R is exposure-independent, S carries the illumination.

    A small MLP turns the target mean luma ``e`` (B,) into a per-channel scale and shift of the S decoder's 1/8
    input (FiLM) and a per-channel shift of S's logits. It starts as the identity (zero-initialised output), so
    weights trained without it keep their behaviour at the start of fine-tuning.
    """

    def __init__(self, channels: int, hidden: int = 32):
        super().__init__()
        self.channels = channels
        self.mlp = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.1), nn.Linear(hidden, 2 * channels + 3))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, fused: torch.Tensor, exposure: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = exposure.to(fused.dtype).clamp(0.01, 0.99).reshape(-1, 1)
        code = self.mlp(torch.cat([torch.logit(e), 4 * (e - 0.4)], 1))    # (B, 2C + 3)
        scale, shift, bias = code.split([self.channels, self.channels, 3], 1)
        return fused * (1 + scale[:, :, None, None]) + shift[:, :, None, None], bias


class FusionBlock(nn.Module):
    """Residual mixing of both frames' 1/8 features (STCD's residual block, made depthwise-separable)."""

    def __init__(self, channels: int):
        super().__init__()
        self.mix_in = nn.Conv2d(channels, channels, 1)
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.mix_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix_out(F.relu(self.depthwise(F.relu(self.mix_in(x)))))


class FastSTCD(nn.Module):
    """Efficient STCD. Input height and width must be multiples of :attr:`size_multiple` (use ``Padder``).

    Args:
        cfg: channel widths and attention settings, see :class:`FastSTCDConfig`.
    """

    size_multiple = 8
    # Context a decoder needs, in full-resolution pixels each side: its 3x3 convs reach 4 (at 1/4), 2 + 2 (two at
    # 1/2) and 2 (the refinement's two at full resolution) = 10, rounded up to the 1/8 grid.
    DECODER_REACH = 16

    def __init__(self, cfg: FastSTCDConfig = FastSTCDConfig()):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.half_width, cfg.quarter_width, cfg.width
        self.embed = nn.Conv2d(12, c1, 3, padding=1)
        self.down_quarter = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.down_eighth = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.self_attention = SelfAttentionBlock(c3, cfg.heads, cfg.ffn_expansion)
        self.cross_attention = CrossAttentionBlock(c3, cfg.heads, cfg.ffn_expansion)
        self.fusion = FusionBlock(2 * c3)
        self.decoder_r = Decoder(cfg, cfg.refine)
        self.decoder_s = Decoder(cfg)
        self.exposure = ExposureModulation(2 * c3) if cfg.exposure else None

    @property
    def exposure_control(self) -> bool:
        """True when :meth:`decode` honours a target brightness."""
        return self.exposure is not None

    def encode(self, x: torch.Tensor) -> FastFeatures:
        pixels = F.pixel_unshuffle(x, 2)                       # (B, 12, H/2, W/2)
        half = lrelu(self.embed(pixels))                      # (B, C1, H/2, W/2)
        quarter = lrelu(self.down_quarter(half))              # (B, C2, H/4, W/4)
        eighth = lrelu(self.down_eighth(quarter))             # (B, C3, H/8, W/8)
        return FastFeatures(pixels, half, quarter, eighth, self.self_attention(eighth))

    def interact(self, f1: FastFeatures, f2: FastFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        """STCD's exchange: frame 2 attends to frame 1's updated features; returns both frames' decoder inputs."""
        a1 = f1.attended + self.cross_attention(f1.eighth, f2.eighth)
        a2 = f2.attended + self.cross_attention(f2.eighth, a1)
        g1, g2 = self.fusion(torch.cat([a1, a2], 1)).chunk(2, dim=1)  # 2 x (B, C3, H/8, W/8)
        return torch.cat([g1, a1], 1), torch.cat([g2, a2], 1)

    def decode(self, fused: torch.Tensor, skips: FastFeatures, exposure: torch.Tensor | None = None) -> Decomposition:
        """R from the fused features alone; S also from the target brightness ``exposure`` (B,), when given."""
        r = self.decoder_r(fused, skips)
        fused_s, bias = fused, None
        if self.exposure is not None:
            if exposure is None:
                exposure = fused.new_full((fused.shape[0],), DEFAULT_EXPOSURE)
            fused_s, bias = self.exposure(fused, exposure)
        s = self.decoder_s(fused_s, skips, bias)
        return Decomposition(r * s, r, s)

    def decompose_first(self, f1: FastFeatures, f2: FastFeatures,
                        exposure: torch.Tensor | None = None) -> Decomposition:
        """Enhance frame 1 of a pair from cached encoder features; frame 2's decoders are skipped."""
        fused1, _ = self.interact(f1, f2)
        return self.decode(fused1, f1, exposure)

    def decompose_first_tiled(self, f1: FastFeatures, f2: FastFeatures, tile: int,
                              exposure: torch.Tensor | None = None) -> Decomposition:
        """:meth:`decompose_first` with the decoders - the only full-resolution work - run window by window.

        The interaction (and its attention) sees the whole frame at 1/8 resolution, where memory is small; the
        decoders are convolutions that see at most ``DECODER_REACH`` pixels around an output pixel, so each window
        decoded with that much context reproduces the untiled result. ``tile`` is rounded down to a multiple of 8.
        """
        fused, _ = self.interact(f1, f2)
        b, _, h, w = f1.pixels.shape
        h, w, tile, halo = 2 * h, 2 * w, max(8, tile - tile % 8), self.DECODER_REACH
        out = [fused.new_empty(b, 3, h, w) for _ in range(3)]  # y, r, s
        for top in range(0, h, tile):
            for left in range(0, w, tile):
                t0, l0 = max(top - halo, 0), max(left - halo, 0)
                t1, l1 = min(top + tile + halo, h), min(left + tile + halo, w)

                def window(x: torch.Tensor) -> torch.Tensor:  # the same area of a map at any resolution
                    scale = h // x.shape[-2]
                    return x[..., t0 // scale:t1 // scale, l0 // scale:l1 // scale]  # noqa: B023 (called at once)

                part = self.decode(window(fused), FastFeatures(*map(window, f1)), exposure)
                th, tw = min(tile, h - top), min(tile, w - left)
                for whole, piece in zip(out, part):
                    inner = piece[..., top - t0:top - t0 + th, left - l0:left - l0 + tw]
                    whole[..., top:top + th, left:left + tw] = inner
        return Decomposition(*out)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, exposure1: torch.Tensor | None = None,
                exposure2: torch.Tensor | None = None) -> PairOutput:
        f1, f2 = self.encode(x1), self.encode(x2)
        fused1, fused2 = self.interact(f1, f2)
        d1, d2 = self.decode(fused1, f1, exposure1), self.decode(fused2, f2, exposure2)
        return PairOutput(d1.r, d2.r, d1.y, d2.y, d1.s, d2.s)
