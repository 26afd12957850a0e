"""The official STCD dual-structure network (generator ``low_light_transformer42``, nf=64, front_RBs=1).

Two frames go through one shared encoder; their 1/4-resolution features exchange information through
self- and cross-attention and one residual block over both frames; then two decoders, shared by the frames,
produce the view-independent term R (intrinsic appearance) and the view-dependent term S (shading).
The enhanced frame is ``Y = R * S``. Parameter names equal the official ones, so official checkpoints load.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from llve.models.blocks import CrossAttentionBlock, ResidualBlock, SelfAttentionBlock, lrelu


class Features(NamedTuple):
    """Encoder features of one frame, kept so a frame is encoded once when it is a partner twice."""

    full: torch.Tensor     # (B, C, H, W)
    half: torch.Tensor     # (B, C, H/2, W/2)
    quarter: torch.Tensor  # (B, C, H/4, W/4)


class Decomposition(NamedTuple):
    """One enhanced frame and its two factors, all (B, 3, H, W) in [0, 1]: ``y = r * s``."""

    y: torch.Tensor
    r: torch.Tensor
    s: torch.Tensor


class PairOutput(NamedTuple):
    """Outputs for a frame pair, in the official return order (so ``out[2]`` is Y1 as upstream)."""

    r1: torch.Tensor
    r2: torch.Tensor
    y1: torch.Tensor
    y2: torch.Tensor
    s1: torch.Tensor
    s2: torch.Tensor


@dataclass(frozen=True)
class STCDConfig:
    """Args: width: feature channels everywhere (official 64); heads: attention heads (official 4)."""

    width: int = 64
    heads: int = 4
    ffn_expansion: float = 2.66

    def __post_init__(self):
        if min(self.width, self.heads) < 1 or self.width % self.heads:
            raise ValueError(f"width and heads must be positive and width ({self.width}) divisible by heads "
                             f"({self.heads})")
        if not self.ffn_expansion > 0:
            raise ValueError(f"ffn_expansion must be > 0 (got {self.ffn_expansion})")


class STCD(nn.Module):
    """The official network. Input height and width must be multiples of :attr:`size_multiple`."""

    size_multiple = 4
    exposure_control = False  # the published network has no brightness input

    def __init__(self, cfg: STCDConfig = STCDConfig()):
        super().__init__()
        self.cfg = cfg
        c = cfg.width
        # Shared encoder: full, 1/2 and 1/4 resolution.
        self.conv_first_1 = nn.Conv2d(3, c, 3, 1, 1)
        self.conv_first_2 = nn.Conv2d(c, c, 3, 2, 1)
        self.conv_first_3 = nn.Conv2d(c, c, 3, 2, 1)
        # Cross-frame interaction at 1/4 resolution.
        self.trans1 = SelfAttentionBlock(c, cfg.heads, cfg.ffn_expansion)
        self.trans2 = CrossAttentionBlock(c, cfg.heads, cfg.ffn_expansion)
        self.feature_extraction = nn.Sequential(ResidualBlock(2 * c))
        # View-independent decoder (R) ...
        self.upconv1_ill = nn.Conv2d(2 * c, 4 * c, 3, 1, 1)
        self.upconv2_ill = nn.Conv2d(2 * c, 4 * c, 3, 1, 1)
        self.HRconv_ill = nn.Conv2d(2 * c, c, 3, 1, 1)
        self.conv_last_ill = nn.Conv2d(c, 3, 3, 1, 1)
        # ... and view-dependent decoder (S), same shape.
        self.upconv1_ill2 = nn.Conv2d(2 * c, 4 * c, 3, 1, 1)
        self.upconv2_ill2 = nn.Conv2d(2 * c, 4 * c, 3, 1, 1)
        self.HRconv_ill2 = nn.Conv2d(2 * c, c, 3, 1, 1)
        self.conv_last_ill2 = nn.Conv2d(c, 3, 3, 1, 1)

    def encode(self, x: torch.Tensor) -> Features:
        full = lrelu(self.conv_first_1(x))
        half = lrelu(self.conv_first_2(full))
        return Features(full, half, lrelu(self.conv_first_3(half)))

    def interact(self, f1: Features, f2: Features) -> tuple[Features, Features, torch.Tensor, torch.Tensor]:
        """Exchange information between the two frames' 1/4 features.

        Frame 2 attends to frame 1's already-updated features (official order). Returns the features the
        decoders use as skips (the 1/4 level replaced by its attention update) and the two fused maps.
        """
        a1 = self.trans1(f1.quarter) + self.trans2(f1.quarter, f2.quarter)
        a2 = self.trans1(f2.quarter) + self.trans2(f2.quarter, a1)
        g1, g2 = self.feature_extraction(torch.cat([a1, a2], dim=1)).chunk(2, dim=1)  # 2 x (B, C, H/4, W/4)
        return f1._replace(quarter=a1), f2._replace(quarter=a2), g1, g2

    def _decode(self, convs: tuple[nn.Conv2d, ...], x: torch.Tensor, skips: Features) -> torch.Tensor:
        up1, up2, hr, last = convs
        x = lrelu(F.pixel_shuffle(up1(torch.cat([x, skips.quarter], 1)), 2))  # (B, C, H/2, W/2)
        x = lrelu(F.pixel_shuffle(up2(torch.cat([x, skips.half], 1)), 2))     # (B, C, H, W)
        x = lrelu(hr(torch.cat([x, skips.full], 1)))
        return torch.sigmoid(last(x))

    def decode(self, x: torch.Tensor, skips: Features) -> Decomposition:
        """Both decoders for one frame: R (view-independent), S (view-dependent), and Y = R * S."""
        r = self._decode((self.upconv1_ill, self.upconv2_ill, self.HRconv_ill, self.conv_last_ill), x, skips)
        s = self._decode((self.upconv1_ill2, self.upconv2_ill2, self.HRconv_ill2, self.conv_last_ill2), x, skips)
        return Decomposition(r * s, r, s)

    def decompose_first(self, f1: Features, f2: Features) -> Decomposition:
        """Enhance frame 1 of a pair from cached encoder features; frame 2's decoders are skipped."""
        s1, _, g1, _ = self.interact(f1, f2)
        return self.decode(g1, s1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> PairOutput:
        f1, f2 = self.encode(x1), self.encode(x2)
        s1, s2, g1, g2 = self.interact(f1, f2)
        d1, d2 = self.decode(g1, s1), self.decode(g2, s2)
        return PairOutput(d1.r, d2.r, d1.y, d2.y, d1.s, d2.s)
