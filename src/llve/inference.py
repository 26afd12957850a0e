"""Streaming enhancement: a frame travels file -> tensor -> network -> tensor -> file, one at a time.

Frame t is enhanced with frame t+1 as its partner (the last frame with itself), the official test pairing.
Each frame is encoded once: its encoder features serve first as the partner of frame t-1, then as frame t.
Only two frames' features are alive at any time, so memory does not grow with video length.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from llve.errors import UserInputError
from llve.models import Decomposition
from llve.models.padding import Padder

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "default.safetensors"


@dataclass(frozen=True)
class FrameResult:
    """One enhanced frame and its decomposition, HxWx3 uint8 RGB each: ``y ~= r * s``."""

    y: np.ndarray
    r: np.ndarray
    s: np.ndarray


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; an unavailable device is a user error, not a crash."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserInputError(f"unknown device '{device}' (use auto, cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError("--device cuda asked for, but no CUDA GPU is available (use --device cpu)")
    return dev


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 uint8 -> (1, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float().div_(255.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [0, 1] -> HxWx3 uint8 (clip, x255, round: the evaluation protocol's conversion)."""
    return x[0].float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()


class Enhancer:
    """Loads a network once and enhances frame streams with it.

    Args:
        weights: weights file; ``None`` uses the weights bundled with the package.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        fp16: half-precision autocast (CUDA only; ignored with a warning on CPU).
        model: an already built network, instead of ``weights`` (for tests and notebooks).
    """

    def __init__(self, weights: str | Path | None = None, device: str = "auto", fp16: bool = False,
                 model: torch.nn.Module | None = None):
        from llve.models.weights import load_model

        self.device = resolve_device(device)
        if model is None:
            if weights is None:
                if not DEFAULT_WEIGHTS.is_file():
                    raise UserInputError("no --weights given and this install has no bundled default weights")
                weights = DEFAULT_WEIGHTS
            model = load_model(weights, self.device)
        self.model = model.to(self.device).eval()
        if fp16 and self.device.type != "cuda":
            from llve.data.video_io import warn

            warn("--fp16 needs a CUDA device; running in float32 on the CPU")
            fp16 = False
        self.fp16 = fp16

    def _autocast(self):
        if self.fp16:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def decompose_stream(self, frames: Iterable[np.ndarray]) -> Iterator[Decomposition]:
        """Yield the (cropped) decomposition of every frame, each paired with its successor."""
        model, padder, size = self.model, None, None
        features = None  # encoder features of the frame waiting for its partner
        for index, rgb in enumerate(frames):
            if size is None:
                size = rgb.shape
                padder = Padder(rgb.shape[0], rgb.shape[1], model.size_multiple)
            elif rgb.shape != size:
                raise UserInputError(f"frame {index} has size {rgb.shape[1]}x{rgb.shape[0]}, "
                                     f"but the first frame is {size[1]}x{size[0]}")
            with self._autocast():
                incoming = model.encode(padder.pad(to_tensor(rgb, self.device)))
                if features is not None:
                    yield Decomposition(*(padder.crop(t) for t in model.decompose_first(features, incoming)))
            features = incoming
        if features is not None:
            with self._autocast():
                yield Decomposition(*(padder.crop(t) for t in model.decompose_first(features, features)))

    def enhance_frames(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """HxWx3 uint8 RGB frames in, enhanced HxWx3 uint8 RGB frames out, lazily and in order."""
        for d in self.decompose_stream(frames):
            yield to_uint8(d.y)

    def decompose_frames(self, frames: Iterable[np.ndarray]) -> Iterator[FrameResult]:
        """Like :meth:`enhance_frames`, with the view-independent (R) and view-dependent (S) terms."""
        for d in self.decompose_stream(frames):
            yield FrameResult(to_uint8(d.y), to_uint8(d.r), to_uint8(d.s))

    def enhance_video(self, path_in: str | Path, path_out: str | Path, **options) -> Path:
        """Enhance a video file into ``path_out``; see :func:`llve.enhance.enhance_path` for options."""
        from llve.enhance import enhance_path

        return enhance_path(self, path_in, path_out, **options)
