"""Pixel maths every layer shares: the luma weights, brightness in each unit, sRGB transfer, uint8 conversion.

Brightness functions are named for their unit: ``mean_luma_255`` (8-bit levels) and ``mean_luma_unit`` ([0, 1]).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

LUMA = (0.299, 0.587, 0.114)  # BT.601 weights of R, G, B: every brightness in llve is this luma
METERING_ROWS = 270           # large frames are metered on a grid of about this many rows: plenty for a mean


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def mean_luma_unit(rgb: np.ndarray) -> float:
    """Mean luma of an HxWx3 uint8 RGB frame in [0, 1]: the unit of every exposure target."""
    return float((rgb.astype(np.float32) @ np.float32(LUMA)).mean() / 255.0)


def mean_luma_255(img: np.ndarray) -> float:
    """Mean luma of an RGB image in the image's own units (8-bit levels for uint8): the unit of the metrics."""
    return float((img.astype(np.float64) @ np.array(LUMA)).mean())


def metering_step(height: int, width: int) -> int:
    """Stride of the metering grid of a frame: about METERING_ROWS rows (a 1080p frame's every 4th row and column);
    1 for frames under twice that."""
    return max(1, min(height, width) // METERING_ROWS)


def tensor_mean_luma_unit(x: torch.Tensor) -> float:
    """Mean luma in [0, 1] of a (1, 3, H, W) frame, as the uint8 conversion will see it, on the metering grid
    (:func:`metering_step`), as the exposure meters its input."""
    step = metering_step(*x.shape[-2:])
    channel_means = x[0, :, ::step, ::step].float().clamp(0, 1).mean(dim=(1, 2))  # linear: weigh the channels' means
    return float(channel_means @ channel_means.new_tensor(LUMA))


def float_to_uint8(x: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] to uint8 as the official ``tensor2img``: clip to [0, 1], x255, round (half to even)."""
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def tensor_to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [0, 1] -> HxWx3 uint8 (clip, x255, round half to even: the evaluation protocol's conversion).
    A CPU float32 frame converts in OpenCV, two passes over it against torch's five (equal, tested)."""
    if x.device.type == "cpu" and x.dtype == torch.float32:
        hwc = np.ascontiguousarray(x[0].detach().permute(1, 2, 0).numpy())  # a view of a channels-last frame
        return cv2.convertScaleAbs(cv2.threshold(hwc, 0, 0, cv2.THRESH_TOZERO)[1], alpha=255.0)  # negatives to 0
    return x[0].float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) laid out in memory as an HxWx3 array (a copy unless it is already): :func:`tensor_to_hwc` is then
    a view, and tensors made from HxWx3 arrays combine with it without strided passes."""
    return x.contiguous(memory_format=torch.channels_last)


def tensor_to_hwc(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) -> HxWx3 float32 numpy (a view for the stream's channels-last CPU tensors)."""
    return np.ascontiguousarray(x[0].float().permute(1, 2, 0).cpu().numpy())


def hwc_to_tensor(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """HxWx3 numpy -> (1, 3, H, W) on ``like``'s device and dtype: a channels-last view of ``array`` on the CPU in
    float32 (the inverse of :func:`tensor_to_hwc`)."""
    return torch.from_numpy(array).permute(2, 0, 1)[None].to(like.device, like.dtype)


def haar_diagonal(image: np.ndarray) -> np.ndarray:
    """``|a - b - c + d| / 2`` of every 2x2 block ``[[a, b], [c, d]]`` of an image (HxW or HxWxC, float): the finest
    Haar diagonal detail, which is zero on flat areas and ramps and has deviation s on white noise of deviation s."""
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    a, b, c, d = image[0:h:2, 0:w:2], image[0:h:2, 1:w:2], image[1:h:2, 0:w:2], image[1:h:2, 1:w:2]
    return np.abs(a - b - c + d) / 2
