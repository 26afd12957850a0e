"""The Python API: :class:`Enhancer` loads a network once and streams frames through it
(:mod:`llve.stream.pipeline`)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from llve.core.device import resolve_device
from llve.core.errors import UserInputError, warn
from llve.models import Decomposition
from llve.models.weights import load_model
from llve.stream.exposure import ExposureController
from llve.stream.options import StreamOptions
from llve.stream.pipeline import FrameResult, K, decompose_stream, prepare_model, stream

DEFAULT_WEIGHTS = Path(__file__).parents[1] / "weights" / "default.safetensors"
BACKENDS = ("torch", "onnxruntime")


class Enhancer:
    """Loads a network once and enhances frame streams with it.

    Args:
        weights: weights file (``.safetensors``, official ``.pth``, llve checkpoint or ``.onnx``); ``None`` uses the
            weights bundled with the package.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        options: how frames travel through the network (:class:`~llve.stream.options.StreamOptions`: pairing,
            tiling, precision, exposure, noise filters). Half precision needs CUDA: elsewhere it falls back to
            float32 with a warning. With exposure control, :attr:`exposure_controller` holds what the last stream
            chose.
        model: an already built network, instead of ``weights`` (for tests and notebooks).
        backend: ``torch``, or ``onnxruntime`` (a ``.onnx`` weights file implies it; other weights are exported
            to ONNX first).
    """

    def __init__(self, weights: str | Path | None = None, device: str = "auto",
                 options: StreamOptions = StreamOptions(), *, model: torch.nn.Module | None = None,
                 backend: str = "torch"):
        self.options = options
        if backend not in BACKENDS:
            raise UserInputError(f"unknown backend '{backend}' (choose torch or onnxruntime)")
        if weights is not None and Path(weights).suffix == ".onnx":
            backend = "onnxruntime"
        self.device = resolve_device(device)
        if backend == "onnxruntime" and self.device.type != "cpu":
            warn("the onnxruntime backend takes frames on the CPU (it picks its own execution provider)")
            self.device = torch.device("cpu")
        if self.options.precision != "fp32" and self.device.type != "cuda":
            warn(f"{self.options.precision} needs a CUDA device; running in float32 on the CPU")
            self.options = dataclasses.replace(self.options, precision="fp32")
        if model is None:
            if weights is None:
                if not DEFAULT_WEIGHTS.is_file():
                    raise UserInputError("no weights given and this install has no bundled default weights")
                weights = DEFAULT_WEIGHTS
            if Path(weights).suffix != ".onnx":
                model = load_model(weights, self.device)
        self.weights_name = Path(weights).name if weights is not None else "a network given in Python"
        if backend == "onnxruntime":
            from llve.run.export import onnx_runtime_model  # needs the optional onnx extra

            self.model = onnx_runtime_model(model if model is not None else weights)
            self.options = dataclasses.replace(self.options, channels_last=False, compile=False)
        else:
            self.model = prepare_model(model, self.device, self.options)
        self.exposure_controller: ExposureController | None = None
        if self.options.exposure != "auto" and not self.exposure_control:
            warn("these weights have no exposure control; the exposure setting is ignored")
        self.filters = self.options.active_filters(self.exposure_control)  # (temporal, spatial) run
        if self.options.denoise not in (0.0, 1.0) and not any(self.filters):
            if self.options.temporal_filter == self.options.spatial_filter == "off":
                warn("both noise filters are set off; the denoise setting is ignored")
            else:
                warn("no noise filter runs for these weights (auto turns them on only with exposure control); "
                     "the denoise setting is ignored (a temporal or spatial filter setting of 'on' runs them)")

    def describe(self) -> str:
        """The settings that made an output, for its comment tag: a file says how it was enhanced."""
        from llve import __version__

        temporal, spatial = ("on" if active else "off" for active in self.filters)
        exposure = self.options.exposure if self.exposure_control else "none (these weights have no control)"
        return (f"enhanced by llve {__version__}: weights {self.weights_name}, exposure {exposure}, temporal filter "
                f"{temporal}, spatial filter {spatial}, denoise {self.options.denoise:g}")

    @property
    def fp16(self) -> bool:
        return self.options.precision == "fp16"

    def stream(self, items: Iterable[tuple[K, np.ndarray]], components: bool = True
               ) -> Iterator[tuple[K, FrameResult]]:
        """``(key, HxWx3 uint8 RGB)`` in, ``(key, FrameResult)`` out, lazily and in order (R and S with
        ``components``). The key - a timestamp, a file name - is handed back with its frame's result."""
        return stream(self.model, items, self.device, self.options, components, self._new_controller())

    def decompose_stream(self, items: Iterable[tuple[K, np.ndarray]], exposure: str | float | None = None
                         ) -> Iterator[tuple[K, Decomposition]]:
        """Like :meth:`stream`, with the cropped (1, 3, H, W) float tensors instead of uint8 frames; ``exposure``
        overrides the setting for this stream only."""
        return decompose_stream(self.model, items, self.device, self.options, self._new_controller(exposure))

    @property
    def exposure_control(self) -> bool:
        return getattr(self.model, "exposure_control", False)

    def _new_controller(self, exposure: str | float | None = None) -> ExposureController | None:
        """Each stream decides its own exposure from its first frame on; the last one stays readable."""
        if self.exposure_control:
            self.exposure_controller = ExposureController(self.options.exposure if exposure is None else exposure)
        return self.exposure_controller

    def enhance_frames(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """HxWx3 uint8 RGB frames in, enhanced HxWx3 uint8 RGB frames out, lazily and in order."""
        for _, result in self.stream(enumerate(frames), components=False):
            yield result.y

    def decompose_frames(self, frames: Iterable[np.ndarray]) -> Iterator[FrameResult]:
        """Like :meth:`enhance_frames`, with the view-independent (R) and view-dependent (S) terms."""
        for _, result in self.stream(enumerate(frames)):
            yield result
