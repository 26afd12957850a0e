"""Pad frames to the network's size multiple and crop back: the single owner of this rule.

Training, evaluation and streaming inference all go through :class:`Padder`, so a frame of any size works.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class Padder:
    """Reflect-pads (B, C, H, W) tensors at the bottom/right to a multiple of ``multiple`` (the network's
    ``size_multiple``) and crops back. Args: height, width: the original frame size."""

    def __init__(self, height: int, width: int, multiple: int):
        self.height, self.width = height, width
        self.pad_h = (-height) % multiple
        self.pad_w = (-width) % multiple

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.pad_h or self.pad_w):
            return x
        # Reflect padding needs pad < size; replicate covers tiny frames (e.g. 1-3 pixels).
        small = self.pad_h >= self.height or self.pad_w >= self.width
        return F.pad(x, (0, self.pad_w, 0, self.pad_h), mode="replicate" if small else "reflect")

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.height, : self.width]
