"""The stream settings, declared once: every caller that runs a stream (``llve enhance`` and its batches, ``llve
test``, ``llve bench``, ``llve view``, :class:`llve.run.enhancer.Enhancer`) holds one :class:`StreamOptions`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llve.core.errors import UserInputError
from llve.stream.exposure import parse_exposure
from llve.stream.tiling import MIN_TILE

PAIRINGS = ("next", "self")
FILTER_SETTINGS = ("auto", "on", "off")
PRECISIONS = ("fp32", "fp16", "bf16")
MAX_DENOISE = 3.0   # beyond this the spatial filter flattens texture and the temporal one keeps >98% of the past


@dataclass(frozen=True)
class StreamOptions:
    """How frames travel through the network. Measured on a 2-core CPU (``llve bench``, docs/speed.md),
    channels-last lets oneDNN pick its blocked convolution kernels (both networks stream about 1.3x faster).

    Args:
        pairing: ``next`` (frame t with t+1, the official rule) or ``self`` (each frame alone, as its own partner:
            the frame-by-frame reference that shows what the cross-frame interaction adds).
        tile: decompose in windows of this size (0: whole frames) to bound memory on large frames. Networks with
            ``decompose_first_tiled`` tile only their decoders (exact); others run whole-network tiles whose seams
            are blended (:mod:`llve.stream.tiling`).
        precision: ``fp32``, or ``fp16``/``bf16`` autocast (CUDA only).
        channels_last: NHWC memory layout for weights and frames (faster convolutions on CPU and GPU).
        compile: wrap ``encode`` and ``decompose_first`` in ``torch.compile`` (its first call compiles for tens of
            seconds, which only pays off on long videos).
        exposure: ``auto`` or the target mean brightness of the output in (0, 1), for networks with exposure
            control (:mod:`llve.stream.exposure`); others ignore it.
        temporal_filter: ``on``: average each frame's R with the previous frame's along the optical flow where
            they agree (:mod:`llve.stream.temporal_filter`), which removes noise that differs from frame to frame;
            ``auto``: on for networks with exposure control (the real-footage weights), off for the others, so the
            paper's networks keep its exact protocol; ``off``.
        spatial_filter: ``on``: smooth R where the output varies by less than a few noise deviations, with a guided
            filter (:mod:`llve.stream.spatial_filter`), which removes the blotches that stay in place from frame to
            frame; ``auto``: on for networks with exposure control, off for the others; ``off``.
        denoise: strength of both filters, where they run: 1 as measured in MODEL_CARD.md, 0 none (as ``off``),
            2 twice as strong (the spatial filter's threshold doubles; the temporal filter keeps
            ``1 - (1 - 0.81) ** 2`` = 96% of the history where it agrees, not 81%), up to :data:`MAX_DENOISE`.
    """

    pairing: Literal["next", "self"] = "next"
    tile: int = 0
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    channels_last: bool = True
    compile: bool = False
    exposure: str | float = "auto"
    temporal_filter: Literal["auto", "on", "off"] = "auto"
    spatial_filter: Literal["auto", "on", "off"] = "auto"
    denoise: float = 1.0

    def __post_init__(self):
        try:
            object.__setattr__(self, "exposure", parse_exposure(self.exposure))
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        if self.pairing not in PAIRINGS:
            raise UserInputError(f"unknown pairing '{self.pairing}' (choose {' or '.join(PAIRINGS)})")
        if self.tile and not self.tile >= MIN_TILE:
            raise UserInputError(f"tile {self.tile} is too small (0 for whole frames, or at least {MIN_TILE} pixels)",
                                 setting="tile")
        for name in ("temporal_filter", "spatial_filter"):
            if getattr(self, name) not in FILTER_SETTINGS:
                raise UserInputError(f"unknown {name.replace('_', ' ')} setting '{getattr(self, name)}' "
                                     f"(choose auto, on or off)")
        if not 0.0 <= self.denoise <= MAX_DENOISE:  # also refuses NaN
            raise UserInputError(f"denoise must be between 0 and {MAX_DENOISE:g} (got {self.denoise})",
                                 setting="denoise")
        if self.precision not in PRECISIONS:
            raise UserInputError(f"unknown precision '{self.precision}' (choose {', '.join(PRECISIONS)})")

    def active_filters(self, exposure_network: bool) -> tuple[bool, bool]:
        """Whether the temporal and the spatial filter run: each where its setting is ``on``, or ``auto`` with an
        exposure-controlled network, and ``denoise`` is above 0."""
        return tuple(self.denoise > 0 and (setting == "on" or (setting == "auto" and exposure_network))
                     for setting in (self.temporal_filter, self.spatial_filter))
