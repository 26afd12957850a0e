"""Streaming enhancement: a frame travels file -> tensor -> network -> tensor -> file, one at a time.

Frame t is enhanced with frame t+1 as its partner (the last frame with itself), the official test pairing.
Each frame is encoded once: its encoder features serve first as the partner of frame t-1, then as frame t.
Only two frames' features are alive at any time, so memory does not grow with video length.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from llve.errors import UserInputError, warn
from llve.runtime import resolve_device
from llve.models import Decomposition
from llve.models.padding import Padder

PAIRINGS = ("next", "self")
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "default.safetensors"


@dataclass(frozen=True)
class FrameResult:
    """One enhanced frame and its decomposition, HxWx3 uint8 RGB each: ``y ~= r * s``."""

    y: np.ndarray
    r: np.ndarray
    s: np.ndarray


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
        pairing: ``next`` (frame t with t+1, the official rule) or ``self`` (each frame alone, as its own partner:
            the frame-by-frame reference that shows what the cross-frame interaction adds).
        tile: enhance in overlapping tiles of this size (0: whole frames), for large frames in bounded memory;
            see :mod:`llve.tiling`.
        backend: ``torch``, or ``onnxruntime`` (a ``.onnx`` weights file implies it; other weights are exported
            to ONNX first).
    """

    def __init__(self, weights: str | Path | None = None, device: str = "auto", fp16: bool = False,
                 model: torch.nn.Module | None = None, tile: int = 0, backend: str = "torch",
                 pairing: str = "next"):
        from llve.models.weights import load_model
        from llve.runtime import RuntimeOptions, prepare_model
        from llve.tiling import MIN_TILE

        if tile and not tile >= MIN_TILE:
            raise UserInputError(f"--tile {tile} is too small (0 for whole frames, or at least {MIN_TILE} pixels)")
        if backend not in ("torch", "onnxruntime"):
            raise UserInputError(f"unknown backend '{backend}' (choose torch or onnxruntime)")
        if weights is not None and Path(weights).suffix == ".onnx":
            backend = "onnxruntime"
        self.device = resolve_device(device)
        if backend == "onnxruntime" and self.device.type != "cpu":
            warn("the onnxruntime backend takes frames on the CPU (it picks its own execution provider)")
            self.device = torch.device("cpu")
        if fp16 and self.device.type != "cuda":
            warn("--fp16 needs a CUDA device; running in float32 on the CPU")
            fp16 = False
        if model is None:
            if weights is None:
                if not DEFAULT_WEIGHTS.is_file():
                    raise UserInputError("no --weights given and this install has no bundled default weights")
                weights = DEFAULT_WEIGHTS
            if Path(weights).suffix != ".onnx":
                model = load_model(weights, self.device)
        if backend == "onnxruntime":
            from llve.export import onnx_runtime_model

            self.model, self.channels_last = onnx_runtime_model(model if model is not None else weights), False
        else:
            # Channels-last lets oneDNN/cuDNN pick their fastest convolution kernels (see llve.runtime).
            self.model, self.channels_last = prepare_model(model, self.device, RuntimeOptions()), True
        self.fp16 = fp16
        self.tile = tile
        if pairing not in PAIRINGS:
            raise UserInputError(f"unknown pairing '{pairing}' (choose {' or '.join(PAIRINGS)})")
        self.pairing = pairing

    def _autocast(self):
        if self.fp16:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _tensor(self, rgb: np.ndarray) -> torch.Tensor:
        x = to_tensor(rgb, self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    @torch.inference_mode()
    def decompose_stream(self, frames: Iterable[np.ndarray]) -> Iterator[Decomposition]:
        """Yield the (cropped) decomposition of every frame, each paired with its successor (or itself)."""
        model, padder, size = self.model, None, None
        decompose = model.decompose_first
        if self.tile and hasattr(model, "decompose_first_tiled"):  # cached features, tiled decoders (exact)
            decompose = functools.partial(model.decompose_first_tiled, tile=self.tile)
        elif self.tile:
            yield from self._decompose_stream_tiled(frames)
            return
        features = None  # encoder features of the frame waiting for its partner
        for index, rgb in enumerate(frames):
            if size is None:
                size = rgb.shape
                padder = Padder(rgb.shape[0], rgb.shape[1], model.size_multiple)
            elif rgb.shape != size:
                raise UserInputError(f"frame {index} has size {rgb.shape[1]}x{rgb.shape[0]}, "
                                     f"but the first frame is {size[1]}x{size[0]}")
            with self._autocast():
                incoming = model.encode(padder.pad(self._tensor(rgb)))
                if self.pairing == "self":
                    yield Decomposition(*(padder.crop(t) for t in decompose(incoming, incoming)))
                    continue
                if features is not None:
                    yield Decomposition(*(padder.crop(t) for t in decompose(features, incoming)))
            features = incoming
        if features is not None:
            with self._autocast():
                yield Decomposition(*(padder.crop(t) for t in decompose(features, features)))

    def _decompose_stream_tiled(self, frames: Iterable[np.ndarray]) -> Iterator[Decomposition]:
        """The same pairing in whole-network tiles: frames, not features, are kept (each tile encodes both frames)."""
        from llve.tiling import decompose_tiled

        previous = None
        for index, rgb in enumerate(frames):
            current = self._tensor(rgb)
            if previous is not None and current.shape != previous.shape:
                raise UserInputError(f"frame {index} has size {rgb.shape[1]}x{rgb.shape[0]}, "
                                     f"but the first frame is {previous.shape[-1]}x{previous.shape[-2]}")
            if self.pairing == "self":
                with self._autocast():
                    yield decompose_tiled(self.model, current, current, self.tile)
                continue
            if previous is not None:
                with self._autocast():
                    yield decompose_tiled(self.model, previous, current, self.tile)
            previous = current
        if previous is not None:
            with self._autocast():
                yield decompose_tiled(self.model, previous, previous, self.tile)

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
