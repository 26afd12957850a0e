"""The stream: ``(key, frame)`` pairs in, ``(key, result)`` out - the one path every frame travels.

Frame t is enhanced with frame t+1 as its partner (the last frame with itself), the official test pairing; or,
with ``pairing="self"``, each frame alone. A frame waits for its partner as encoder features, so each frame is
encoded once and only two frames' features are alive at any time: memory does not grow with video length.
The key (a timestamp, a file name, a ground-truth pair) travels with its frame, so callers keep no queue of their own.
After the network come the noise filters (where they run), the input's own letterbox bars (:mod:`llve.stream.letterbox`)
and, for a frame without colour, :func:`monochrome`.

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
from llve.core.image import LUMA, tensor_mean_luma_unit, tensor_to_uint8
from llve.models import Decomposition
from llve.models.padding import Padder
from llve.stream import spatial_filter as spatial
from llve.stream import temporal_filter as temporal
from llve.stream.exposure import (
    CALIBRATION_TRIES,
    FEEDBACK_GAIN,
    ExposureController,
    ExposureRecord,
    roll_off_highlights,
)
from llve.stream.letterbox import Picture, filtered_inside_bars, find_picture
from llve.stream.options import StreamOptions
from llve.stream.spatial_filter import SpatialFilter
from llve.stream.temporal_filter import TemporalFilter
from llve.stream.tiling import MIN_TILE, blend_tiles

K = TypeVar("K")
AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}  # StreamOptions.precision other than fp32
GREY_TOLERANCE = 1  # levels: a frame whose channels differ by no more than this anywhere is monochrome


@dataclass(frozen=True)
class FrameResult:
    """One enhanced frame and its decomposition, HxWx3 uint8 RGB each: ``y ~= r * s`` (``r``, ``s``: ``None`` when
    the components were not asked for)."""

    y: np.ndarray
    r: np.ndarray | None = None
    s: np.ndarray | None = None


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 uint8 -> (1, 3, H, W) float in [0, 1]."""
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


def is_monochrome(rgb: np.ndarray) -> bool:
    """Whether an HxWx3 uint8 frame holds no colour: every pixel's three values within GREY_TOLERANCE levels of
    each other. Infrared night CCTV and grey images are such frames; a network trained on colour paints faint
    colour into their noise (:func:`monochrome` prevents it). A grid of every 8th pixel settles a colour frame
    (0.4 ms at 960x512); only a frame that looks grey there is checked pixel by pixel, in OpenCV (2.4 ms)."""
    coarse = rgb[::8, ::8].astype(np.int16)
    if int((coarse.max(axis=2) - coarse.min(axis=2)).max()) > GREY_TOLERANCE:
        return False
    r, g, b = cv2.split(np.ascontiguousarray(rgb))
    spread = cv2.max(cv2.absdiff(r, g), cv2.max(cv2.absdiff(g, b), cv2.absdiff(r, b)))
    return cv2.minMaxLoc(spread)[1] <= GREY_TOLERANCE


def monochrome(d: Decomposition) -> Decomposition:
    """``d`` without colour, for a monochrome input frame: R and S each their BT.601 luma in all three channels,
    and ``y = r * s``."""
    weights = d.r.new_tensor(LUMA).view(1, 3, 1, 1)
    r, s = ((x * weights).sum(dim=1, keepdim=True).expand_as(x) for x in (d.r, d.s))
    return Decomposition(r * s, r, s)


def _rolled_off(d: Decomposition) -> Decomposition:
    """``d`` with its illumination's highlights rolled off (:func:`llve.stream.exposure.roll_off_highlights`): ``y =
    r * s``
    then stays below the clipping level everywhere. (Keeping the network's own white where the input was clipped
    was tried: on noisy near-white skies it left speckles of white among rolled-off pixels.)"""
    s = roll_off_highlights(d.s)
    return Decomposition(d.r * s, d.r, s)


def _exposed(step: PairStep, held, partner, control: ExposureController | None,
             record: ExposureRecord | None, picture: Picture | None = None) -> Decomposition:
    """Decompose with the exposure the controller asks for, highlights rolled off, and tell the controller what
    came out in the ``picture`` (the whole frame, or inside its letterbox bars; module doc of
    :mod:`llve.stream.exposure`); a stream's first frame and the first after a cut are decoded again (up to
    ``CALIBRATION_TRIES`` times) until they hit the target."""
    if control is None:
        return step.decompose(held, partner)

    def delivered(d: Decomposition) -> float:
        return tensor_mean_luma_unit(d.y if picture is None else d.y[picture.window])

    d = _rolled_off(step.decompose(held, partner, control.ask(record)))
    tries = CALIBRATION_TRIES if record.calibrate else 0
    while control.observe(record, delivered(d), gain=1.0 if tries else FEEDBACK_GAIN) and tries:
        tries -= 1
        d = _rolled_off(step.decompose(held, partner, control.ask(record)))
    return d


def _noise_filters(options: StreamOptions, exposure_network: bool):
    """What runs on each decomposition after the network: the temporal, then the spatial filter, each where
    :meth:`StreamOptions.active_filters` says so. The temporal filter's history is its own output, before the
    spatial filter, so spatial smoothing does not accumulate over frames. ``options.denoise`` scales both strengths."""
    strengths = (1 - (1 - temporal.STRENGTH) ** options.denoise, spatial.STRENGTH * options.denoise)
    steps = [f(strength) for f, strength, active in zip((TemporalFilter, SpatialFilter), strengths,
                                                        options.active_filters(exposure_network)) if active]

    def finish(d: Decomposition) -> Decomposition:
        for step in steps:
            d = step(d)
        return d
    return finish


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
    filters = _noise_filters(options, control is not None)

    def finish(frame: _Frame, partner: _Frame) -> Decomposition:
        """Frame's decomposition with its partner, then the noise filters, its bars and its greyness."""
        d = _exposed(step, frame.held, partner.held, control, frame.record, frame.picture)
        d = filters(d) if frame.picture is None else filtered_inside_bars(d, frame.rgb, frame.picture, filters)
        return monochrome(d) if frame.grey else d

    for index, (key, rgb) in enumerate(items):
        if size is None:
            size = rgb.shape
        elif rgb.shape != size:
            raise UserInputError(f"frame {index} has size {rgb.shape[1]}x{rgb.shape[0]}, "
                                 f"but the first frame is {size[1]}x{size[0]}")
        x = to_tensor(rgb, device)
        if options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        picture = find_picture(rgb)  # the exposure meters the picture, not its letterbox bars
        record = control.request(rgb if picture is None else picture.of(rgb)) if control is not None else None
        out = None
        with inference_context(device, options):  # results leave the context before they are yielded
            frame = _Frame(key, step.hold(x), record, is_monochrome(rgb), picture, rgb if picture else None)
            if options.pairing == "self":
                out = key, finish(frame, frame)
            elif waiting is not None:
                out = waiting.key, finish(waiting, frame)
        if out is not None:
            yield out
        if options.pairing == "next":
            waiting = frame
    if waiting is not None:
        with inference_context(device, options):
            out = waiting.key, finish(waiting, waiting)
        yield out


class _Frame(NamedTuple):
    """What the stream keeps of a frame until it is enhanced: its encoder features (``held``), its exposure
    decision, whether it is grey, and its picture inside letterbox bars (with the frame, for the bars' values)."""

    key: object
    held: object
    record: ExposureRecord | None
    grey: bool
    picture: Picture | None
    rgb: np.ndarray | None


def stream(model, items: Iterable[tuple[K, np.ndarray]], device: torch.device,
           options: StreamOptions = StreamOptions(), components: bool = True,
           controller: ExposureController | None = None) -> Iterator[tuple[K, FrameResult]]:
    """:func:`decompose_stream` converted to uint8 frames; R and S only with ``components``."""
    for key, d in decompose_stream(model, items, device, options, controller):
        if components:
            yield key, FrameResult(tensor_to_uint8(d.y), tensor_to_uint8(d.r), tensor_to_uint8(d.s))
        else:
            yield key, FrameResult(tensor_to_uint8(d.y))
