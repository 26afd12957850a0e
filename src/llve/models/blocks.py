"""Building blocks of the STCD network.

The cross-frame interaction uses Restormer-style transformer blocks: attention is computed across
channels ("transposed" attention), so its cost grows linearly with the number of pixels. Attribute names
follow the official implementation so that official checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.1)  # the official network's slope


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) map, with bias (Restormer ``WithBias``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.LayerNorm(channels, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def channel_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                      heads: int, temperature: torch.Tensor) -> torch.Tensor:
    """Transposed attention: a (C/heads x C/heads) attention map per head, over all pixels."""
    b, c, h, w = q.shape
    q = F.normalize(q.reshape(b, heads, c // heads, h * w), dim=-1)  # (B, heads, C/heads, HW)
    k = F.normalize(k.reshape(b, heads, c // heads, h * w), dim=-1)
    v = v.reshape(b, heads, c // heads, h * w)
    attn = ((q @ k.transpose(-2, -1)) * temperature).softmax(dim=-1)  # (B, heads, C/heads, C/heads)
    return (attn @ v).reshape(b, c, h, w)


class SelfAttention(nn.Module):
    """Multi-head channel self-attention with a depthwise 3x3 conv after the 1x1 projection."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(channels, channels * 3, 1, bias=False)
        self.qkv_dwconv = nn.Conv2d(channels * 3, channels * 3, 3, padding=1, groups=channels * 3, bias=False)
        self.project_out = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        return self.project_out(channel_attention(q, k, v, self.heads, self.temperature))


class CrossAttention(nn.Module):
    """Channel attention whose query comes from ``x`` and key/value from ``other`` (the partner frame)."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(channels, channels, 1, bias=False)
        self.qkv_dwconv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.qkv2 = nn.Conv2d(channels, channels * 2, 1, bias=False)
        self.qkv2_dwconv = nn.Conv2d(channels * 2, channels * 2, 3, padding=1, groups=channels * 2, bias=False)
        self.project_out = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        q = self.qkv_dwconv(self.qkv(x))
        k, v = self.qkv2_dwconv(self.qkv2(other)).chunk(2, dim=1)
        return self.project_out(channel_attention(q, k, v, self.heads, self.temperature))


class GatedFeedForward(nn.Module):
    """Gated depthwise feed-forward: GELU(a) * b, with a and b from one 1x1 + depthwise 3x3 projection."""

    def __init__(self, channels: int, expansion: float = 2.66):
        super().__init__()
        hidden = int(channels * expansion)
        self.project_in = nn.Conv2d(channels, hidden * 2, 1, bias=False)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=False)
        self.project_out = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * b)


class SelfAttentionBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))`` then ``x + ffn(norm2(x))``."""

    attention = SelfAttention

    def __init__(self, channels: int, heads: int = 4, expansion: float = 2.66):
        super().__init__()
        self.norm1 = ChannelLayerNorm(channels)
        self.attn = self.attention(channels, heads)
        self.norm2 = ChannelLayerNorm(channels)
        self.ffn = GatedFeedForward(channels, expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class CrossAttentionBlock(SelfAttentionBlock):
    """:class:`SelfAttentionBlock`'s layers and names, but attention looks at the partner frame (same norm for both)."""

    attention = CrossAttention

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), self.norm1(other))
        return x + self.ffn(self.norm2(x))


class ResidualBlock(nn.Module):
    """conv3x3 - ReLU - conv3x3 with an identity skip, no normalisation."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))
