"""The stream: ``(key, frame)`` pairs in, ``(key, result)`` out - the one path every frame travels.

Frame t is enhanced with frame t+1 as its partner (the last frame with itself), the official test pairing; or,
with ``pairing="self"``, each frame alone. A frame waits for its partner as encoder features, so each frame is
encoded once and only two frames' features are alive at any time: memory does not grow with video length.
The key (a timestamp, a file name, a ground-truth pair) travels with its frame, so callers keep no queue of their own.
A network with exposure control decodes at the brightness the frame's exposure asks for
(:meth:`~llve.stream.exposure.ExposureController.expose`); after the network come the stages of
:mod:`llve.stream.stages`: the noise filters, the input's letterbox bars, grey kept grey.

``llve enhance``, ``llve test``, ``llve bench`` and :class:`llve.run.enhancer.Enhancer` all drive this module; it is
the only one outside ``models/`` that calls a network's ``encode`` / ``decompose_first``. Tiling, precision,
channels-last and pairing are fields of :class:`~llve.stream.options.StreamOptions`; an ONNX Runtime model
(``llve.run.export``) has the same interface as a PyTorch network and runs through the same loop.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import cv2
import numpy as np
import torch
from torch import nn

from llve.core.errors import UserInputError
from llve.core.image import tensor_mean_luma_unit, tensor_to_uint8
from llve.core.stageclock import stage
from llve.models import Decomposition
from llve.models.padding import Padder
from llve.stream.exposure import ExposureController, ExposureRecord
from llve.stream.options import StreamOptions
from llve.stream.stages import InputTraits, post_network_stages, run_stages
from llve.stream.tiling import MIN_TILE, blend_tiles

K = TypeVar("K")
AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}  # StreamOptions.precision other than fp32


@dataclass(frozen=True)
class FrameResult:
    """One enhanced frame and its decomposition, HxWx3 uint8 RGB each: ``y ~= r * s`` (``r``, ``s``: ``None`` when
    the components were not asked for)."""

    y: np.ndarray
    r: np.ndarray | None = None
    s: np.ndarray | None = None


# v / 255 for every uint8 v, as torch divides: one table lookup per value is one pass over the frame instead of two
_UNIT = torch.arange(256, dtype=torch.float32).div_(255.0).numpy()


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 uint8 -> (1, 3, H, W) float in [0, 1], channels-last in memory. On the CPU by OpenCV's table lookup
    (2.2 ms at 1080p against 3.2 for torch's cast and division; equal: tested)."""
    if device.type == "cpu":
        return torch.from_numpy(cv2.LUT(np.ascontiguousarray(rgb), _UNIT)).permute(2, 0, 1)[None]
    return torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float().div_(255.0)


def prepare_model(model: nn.Module, device: torch.device, options: StreamOptions = StreamOptions()) -> nn.Module:
    """Move a PyTorch network to ``device`` in eval mode with the memory layout (and compilation) of ``options``."""
    model = model.eval().to(device)
    if options.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if options.compile:
        # Compile the two streaming methods (not forward): those are what the stream calls per frame.
        model.encode = torch.compile(model.encode, dynamic=False)
        model.decompose_first = torch.compile(model.decompose_first, dynamic=False)
    return model


@contextlib.contextmanager
def inference_context(device: torch.device, options: StreamOptions) -> Iterator[None]:
    """``torch.inference_mode`` plus, for fp16/bf16, autocast (``tensor_to_uint8`` casts outputs back)."""
    with torch.inference_mode():
        if options.precision == "fp32":
            yield
        else:
            with torch.autocast(device.type, dtype=AUTOCAST_DTYPES[options.precision]):
                yield


class PairStep:
    """How a frame waits for its partner, and how (frame, partner) becomes the frame's decomposition.

    The one place that chooses among whole frames, exact decoder tiles (networks with ``decompose_first_tiled``)
    and whole-network tiles (the others): a frame waits as padded encoder features in the first two, as pixels in
    the last (each window then encodes both frames). Decompositions come back cropped to the frame's size.

    Args:
        model: a network (``encode`` / ``decompose_first`` / ``size_multiple``) or an ONNX Runtime model.
        tile: window size, 0 for whole frames.
        overlap: pixels shared by neighbouring whole-network windows (default ``tile // 8``).
    """

    def __init__(self, model, tile: int = 0, overlap: int | None = None):
        self.model, self.tile = model, tile
        self.overlap = tile // 8 if overlap is None else overlap
        self.pixel_tiles = bool(tile) and not hasattr(model, "decompose_first_tiled")
        self.padder: Padder | None = None

    def hold(self, x: torch.Tensor):
        """What frame ``x`` (B, 3, H, W) keeps while it waits: its features, or itself for whole-network tiles."""
        if self.pixel_tiles:
            return x
        h, w = x.shape[-2:]
        if self.padder is None or (self.padder.height, self.padder.width) != (h, w):
            self.padder = Padder(h, w, self.model.size_multiple)
        return self.model.encode(self.padder.pad(x))

    def decompose(self, held, partner, exposure: float | None = None) -> Decomposition:
        """The held frame's decomposition with ``partner`` (held the same way, same size); ``exposure``: the
        target brightness for networks with exposure control."""
        if self.pixel_tiles:
            whole = PairStep(self.model)
            if max(held.shape[-2:]) <= self.tile:
                return whole.decompose(whole.hold(held), whole.hold(partner))
            return blend_tiles(held, partner, self.tile, self.overlap,
                               lambda a, b: whole.decompose(whole.hold(a), whole.hold(b)))
        target = {}
        if exposure is not None and getattr(self.model, "exposure_control", False):
            target["exposure"] = torch.full((held.pixels.shape[0],), exposure, device=held.pixels.device)
        if self.tile:
            d = self.model.decompose_first_tiled(held, partner, tile=self.tile, **target)
        else:
            d = self.model.decompose_first(held, partner, **target)
        return Decomposition(*(self.padder.crop(t) for t in d))


def decompose_pair(model, x1: torch.Tensor, x2: torch.Tensor, tile: int = 0, overlap: int | None = None
                   ) -> Decomposition:
    """Frame 1's decomposition with frame 2 as partner, for (B, 3, H, W) frames in [0, 1] of any size.

    With ``tile``, in windows of that size (see :class:`PairStep`); ``overlap`` defaults to ``tile // 8``.
    """
    if tile and tile < MIN_TILE:
        raise UserInputError(f"tile size {tile} is too small (at least {MIN_TILE} pixels)")
    if x1.shape != x2.shape:
        raise UserInputError(f"frames of a pair differ in size: {tuple(x1.shape)} vs {tuple(x2.shape)}")
    step = PairStep(model, tile, overlap)
    if not 0 <= step.overlap <= tile // 2:
        raise UserInputError(f"tile overlap {step.overlap} must be between 0 and half the tile ({tile // 2})")
    return step.decompose(step.hold(x1), step.hold(x2))


class _Frame(NamedTuple):
    """What the stream keeps of a frame until it is enhanced: its encoder features (``held``), its exposure
    decision, and what the post-network stages need of its input."""

    key: object
    held: object
    record: ExposureRecord | None
    traits: InputTraits


def decompose_stream(model, items: Iterable[tuple[K, np.ndarray]], device: torch.device,
                     options: StreamOptions = StreamOptions(), controller: ExposureController | None = None
                     ) -> Iterator[tuple[K, Decomposition]]:
    """``(key, HxWx3 uint8 RGB frame)`` in, ``(key, cropped decomposition)`` out, lazily and in order.

    At most one frame is read ahead (the partner). Every frame must have the first frame's size. For a network
    with exposure control, ``controller`` (default: a new one for ``options.exposure``) decides each frame's
    target and keeps the record of what it chose.
    """
    control = None
    if getattr(model, "exposure_control", False):
        control = controller if controller is not None else ExposureController(options.exposure)
    step, size, waiting = PairStep(model, options.tile), None, None  # waiting: frame t, until t+1 arrives
    stages = post_network_stages(options, control is not None)

    def enhanced(frame: _Frame, partner: _Frame) -> Decomposition:
        """The frame's decomposition with its partner (at the brightness its exposure asks for), then the stages."""
        if control is None:
            with stage("network decoders"):
                d = step.decompose(frame.held, partner.held)
        else:
            picture = frame.traits.picture  # the exposure meters the picture, not its letterbox bars
            d = control.expose(frame.record, lambda target: step.decompose(frame.held, partner.held, target),
                               lambda d: tensor_mean_luma_unit(d.y if picture is None else d.y[picture.window]))
        return run_stages(stages, d, frame.traits)

    for index, (key, rgb) in enumerate(items):
        if size is None:
            size = rgb.shape
        elif rgb.shape != size:
            raise UserInputError(f"frame {index} has size {rgb.shape[1]}x{rgb.shape[0]}, "
                                 f"but the first frame is {size[1]}x{size[0]}")
        frame, out = _arrived(key, rgb, step, control, device, options), None
        with inference_context(device, options):  # results leave the context before they are yielded
            if options.pairing == "self":
                out = key, enhanced(frame, frame)
            elif waiting is not None:
                out = waiting.key, enhanced(waiting, frame)
        if out is not None:
            yield out
        if options.pairing == "next":
            waiting = frame
    if waiting is not None:
        with inference_context(device, options):
            out = waiting.key, enhanced(waiting, waiting)
        yield out


def _arrived(key, rgb: np.ndarray, step: PairStep, control: ExposureController | None, device: torch.device,
             options: StreamOptions) -> _Frame:
    """A frame as it arrives: encoded once, its exposure decided, its input's traits read."""
    with stage("input traits"):
        traits = InputTraits.of(rgb)
        picture = traits.picture
        record = control.request(rgb if picture is None else picture.of(rgb)) if control is not None else None
    with stage("to tensor"):
        x = to_tensor(rgb, device)
        if options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
    with inference_context(device, options), stage("network encoder"):
        return _Frame(key, step.hold(x), record, traits)


def stream(model, items: Iterable[tuple[K, np.ndarray]], device: torch.device,
           options: StreamOptions = StreamOptions(), components: bool = True,
           controller: ExposureController | None = None) -> Iterator[tuple[K, FrameResult]]:
    """:func:`decompose_stream` converted to uint8 frames; R and S only with ``components``."""
    for key, d in decompose_stream(model, items, device, options, controller):
        with stage("to uint8"):
            result = FrameResult(*(tensor_to_uint8(t) for t in ((d.y, d.r, d.s) if components else (d.y,))))
        yield key, result
