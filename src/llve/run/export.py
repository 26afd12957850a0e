"""ONNX export of the streaming step, and an ONNX Runtime model with the networks' streaming interface.

What is exported is one streaming step (:class:`llve.models.stream_step.StreamStep`), not the two-frame
``forward``: a video enhancer encodes every frame once and pairs it with its successor, and the exported graph
keeps that saving::

    step(frame, prev_<feature>...) -> (y, r, s, next_<feature>...)

``prev_*`` are the cached encoder features of the frame being enhanced (frame t), ``frame`` is its partner
(frame t+1); the outputs are frame t's decomposition ``y = r * s`` and frame t+1's features, fed back as
``prev_*`` at the next step. Batch, height and width are dynamic (height and width multiples of the network's
size multiple); opset 18.
The model's architecture, config, size multiple and feature layout travel in the file's metadata.

:class:`OnnxStreamingModel` wraps such a file with the same ``encode`` / ``decompose_first`` / ``size_multiple``
interface as the PyTorch networks, so the streaming enhancer and the benchmark drive either backend unchanged.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from llve.core.atomic import atomic_output
from llve.core.errors import UserInputError
from llve.models import Decomposition, GuidedSTCD, arch_name
from llve.models.fast import DEFAULT_EXPOSURE
from llve.models.guided import GuidedAround, GuidedSTCDConfig
from llve.models.stream_step import StreamStep

OPSET = 18


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter warns about things irrelevant here (torchvision ops, axis renames); keep the console clean."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_onnx(model: nn.Module, path: str | Path, height: int = 64, width: int = 96,
                exporter: str = "dynamo") -> Path:
    """Write ``model``'s streaming step as ONNX (fp32), traced at ``height`` x ``width`` but size-dynamic. A guided
    network is written as the fast network with its parameters (the graph of its low-resolution step;
    :func:`onnx_runtime_model` adds the shrink and the guided upsampling around it).

    ``exporter``: ``dynamo`` (``torch.export``, PyTorch's supported path) or ``torchscript`` (the older tracer:
    same graph semantics, about 10x faster to export, deprecated by PyTorch).
    """
    if exporter not in ("dynamo", "torchscript"):
        raise UserInputError(f"unknown exporter '{exporter}' (choose dynamo or torchscript)")
    guided = {}
    if isinstance(model, GuidedSTCD):  # its low-resolution path depends on the frame size: the graph is the fast one
        guided = {"llve.guided": json.dumps(dataclasses.asdict(model.cfg))}
        model = model.as_fast()
    model = copy.deepcopy(model).float().cpu().eval()
    m = model.size_multiple
    height, width = max(m, height - height % m), max(m, width - width % m)
    step = StreamStep(model).eval()
    layout = step.layout
    args = step.example_inputs(2, height, width)  # batch 2: a traced 1 would be specialised to a constant
    names = [n for n, _, _ in layout]
    target = ["exposure"] if step.exposure else []
    inputs, outputs = ["frame", *target, *(f"prev_{n}" for n in names)], ["y", "r", "s", *(f"next_{n}" for n in names)]
    meta = {"llve.arch": arch_name(model), "llve.core.config": json.dumps(dataclasses.asdict(model.cfg)),
            "llve.size_multiple": str(m), "llve.features": json.dumps(layout), "llve.graph": "stream_step",
            "llve.exposure": str(int(step.exposure)), **guided}
    path = Path(path)
    with atomic_output(path) as tmp, _quiet_exporter():
        if exporter == "dynamo":
            # Every spatial size is a fixed multiple of the same two block counts: the graph stays size-generic.
            h, w = torch.export.Dim("h_blocks", min=1, max=1024), torch.export.Dim("w_blocks", min=1, max=1024)
            batch = torch.export.Dim("batch", min=1, max=64)
            shapes = [{0: batch} for _ in target] + [{0: batch, 2: h * (m // s), 3: w * (m // s)}
                                                     for _, _, s in layout]
            program = torch.onnx.export(step, args, dynamo=True, opset_version=OPSET, verbose=False,
                                        input_names=inputs, output_names=outputs,
                                        dynamic_shapes=({0: batch, 2: h * m, 3: w * m}, tuple(shapes)))
            onnx_model = program.model_proto
        else:
            axes = {name: {0: "batch", 2: "height", 3: "width"} for name in ("frame", "y", "r", "s")}
            axes.update({name: {0: "batch"} for name in target})
            for n, _, s in layout:
                axes[f"prev_{n}"] = axes[f"next_{n}"] = {0: "batch", 2: f"height/{s}", 3: f"width/{s}"}
            buffer = io.BytesIO()
            torch.onnx.export(step, args, buffer, dynamo=False, opset_version=OPSET,
                              input_names=inputs, output_names=outputs, dynamic_axes=axes)
            onnx_model = onnx.load_from_string(buffer.getvalue())
        for key, value in meta.items():
            onnx_model.metadata_props.add(key=key, value=value)
        onnx.save(onnx_model, str(tmp))
    return path


@dataclass
class OnnxFeatures:
    """A frame waiting for its features: ONNX Runtime computes them inside the step that uses it as partner."""

    frame: np.ndarray
    tensors: list[np.ndarray] | None = None

    @property
    def pixels(self) -> torch.Tensor:
        """The frame as a tensor, as the PyTorch networks' features hold it (the stream reads its batch size)."""
        return torch.from_numpy(self.frame)


class OnnxStreamingModel:
    """An exported streaming step run by ONNX Runtime, with the PyTorch networks' streaming interface.

    ``encode`` only records the frame: its features come out of the step where it is the partner (or, for the
    very first frame, from one extra step whose enhancement is discarded). Outputs are CPU float32 tensors.
    Args: path: written by :func:`export_onnx`; threads: intra-op threads (default: ``torch.get_num_threads()``, to
    compare like with like); providers: ONNX Runtime execution providers (default: CUDA when available, then CPU).
    """

    def __init__(self, path: str | Path, threads: int | None = None, providers: list[str] | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise UserInputError(f"ONNX file not found: {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        if os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
            # Same reasoning as OpenMP's passive wait: spinning workers stall when the cores are shared.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        available = ort.get_available_providers()
        providers = providers or [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own unrelated exception types for bad files
            raise UserInputError(f"cannot load ONNX model {path}: {exc}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get("llve.graph") != "stream_step":
            raise UserInputError(f"{path} is not an llve streaming export", setting="onnx")
        self.arch = meta["llve.arch"]
        self.size_multiple = int(meta["llve.size_multiple"])
        self.layout = [tuple(item) for item in json.loads(meta["llve.features"])]
        # A network with exposure control exported with its target brightness as an input (older files: none).
        self.exposure_control = "exposure" in {i.name for i in self.session.get_inputs()}
        # A guided network's settings: the graph is its low-resolution step (onnx_runtime_model wraps it).
        self.guided = GuidedSTCDConfig(**json.loads(meta["llve.guided"])) if "llve.guided" in meta else None

    def encode(self, x: torch.Tensor) -> OnnxFeatures:
        return OnnxFeatures(x.detach().float().cpu().contiguous().numpy())

    def _step(self, prev: list[np.ndarray], frame: np.ndarray, exposure: torch.Tensor | None = None
              ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        feeds = {"frame": frame, **{f"prev_{n}": t for (n, _, _), t in zip(self.layout, prev)}}
        if self.exposure_control:  # the network's own default where the stream asks for none
            feeds["exposure"] = (np.full(frame.shape[:1], DEFAULT_EXPOSURE, np.float32) if exposure is None
                                 else exposure.detach().float().cpu().reshape(-1).numpy())
        out = self.session.run(None, feeds)
        return out[:3], out[3:]

    def _features(self, f: OnnxFeatures) -> list[np.ndarray]:
        if f.tensors is None:
            b, _, h, w = f.frame.shape
            zeros = [np.zeros((b, c, h // s, w // s), np.float32) for _, c, s in self.layout]
            _, f.tensors = self._step(zeros, f.frame)
        return f.tensors

    def decompose_first(self, f1: OnnxFeatures, f2: OnnxFeatures, exposure: torch.Tensor | None = None
                        ) -> Decomposition:
        (y, r, s), partner = self._step(self._features(f1), f2.frame, exposure)
        if f2.tensors is None:
            f2.tensors = partner
        return Decomposition(*(torch.from_numpy(t) for t in (y, r, s)))


def onnx_runtime_model(source: nn.Module | str | Path, exporter: str = "dynamo"
                       ) -> OnnxStreamingModel | GuidedAround:
    """An ONNX Runtime model from an ``.onnx`` file, or from a PyTorch network exported on the fly; an export of a
    guided network inside its shrink and upsampling (:class:`llve.models.guided.GuidedAround`).

    The on-the-fly export goes to a temporary file that is deleted once ONNX Runtime has loaded it.
    """
    if isinstance(source, nn.Module):
        with tempfile.TemporaryDirectory(prefix="llve-onnx-") as tmp:
            runtime = OnnxStreamingModel(export_onnx(source, Path(tmp) / "model.onnx", exporter=exporter))
    else:
        runtime = OnnxStreamingModel(source)
    return runtime if runtime.guided is None else GuidedAround(runtime, GuidedSTCD(runtime.guided))
