"""What runs on each frame's decomposition after the network, as a list of uniform stages.

A stage takes a decomposition and what the stream saw of the frame's input (:class:`InputTraits`) and returns a
decomposition. In order (:func:`post_network_stages`): the temporal and the spatial noise filter on R
(:mod:`llve.stream.temporal_filter`, :mod:`llve.stream.spatial_filter`), each on the picture inside any letterbox
bars; the input's own bars put back (:mod:`llve.stream.letterbox`); and, for a frame without colour,
:func:`monochrome`. The exposure comes before them, with the network: it may decode a frame again
(:meth:`llve.stream.exposure.ExposureController.expose`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from llve.core.image import LUMA
from llve.core.stageclock import stage
from llve.models import Decomposition
from llve.stream import spatial_filter as spatial
from llve.stream import temporal_filter as temporal
from llve.stream.letterbox import Picture, find_picture, on_picture, with_input_bars
from llve.stream.options import StreamOptions
from llve.stream.spatial_filter import SpatialFilter
from llve.stream.temporal_filter import TemporalFilter

GREY_TOLERANCE = 1  # levels: a frame whose channels differ by no more than this anywhere is monochrome


class InputTraits(NamedTuple):
    """What the stages need of a frame's input: its picture inside letterbox bars and the frame itself (for the
    bars' values; both None without bars), and whether it is grey."""

    picture: Picture | None
    rgb: np.ndarray | None
    grey: bool

    @classmethod
    def of(cls, rgb: np.ndarray) -> InputTraits:
        picture = find_picture(rgb)
        return cls(picture, rgb if picture else None, is_monochrome(rgb))


Stage = Callable[[Decomposition, InputTraits], Decomposition]


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


class NamedStage(NamedTuple):
    """A stage and the name its time goes under (:mod:`llve.core.stageclock`)."""

    name: str
    run: Stage


def noise_filters(options: StreamOptions, exposure_network: bool
                  ) -> list[tuple[str, Callable[[Decomposition], Decomposition]]]:
    """The temporal, then the spatial filter (with their names), each where :meth:`StreamOptions.active_filters`
    says so, new for one stream (they remember past frames). The temporal filter's history is its own output,
    before the spatial filter, so spatial smoothing does not accumulate over frames. ``options.denoise`` scales
    both strengths."""
    strengths = (1 - (1 - temporal.STRENGTH) ** options.denoise, spatial.STRENGTH * options.denoise)
    kinds = (("temporal filter", TemporalFilter), ("spatial filter", SpatialFilter))
    return [(name, f(strength)) for (name, f), strength, active in
            zip(kinds, strengths, options.active_filters(exposure_network)) if active]


def inside_bars(f: Callable[[Decomposition], Decomposition]) -> Stage:
    """Filter ``f`` as a stage: on the picture alone where the frame has letterbox bars (module doc of
    :mod:`llve.stream.letterbox`)."""
    def stage(d: Decomposition, frame: InputTraits) -> Decomposition:
        return f(d) if frame.picture is None else on_picture(d, frame.picture, f)
    return stage


def input_bars(d: Decomposition, frame: InputTraits) -> Decomposition:
    """The input's letterbox bars in place of what the network made of them."""
    return d if frame.picture is None else with_input_bars(d, frame.rgb, frame.picture)


def grey_stays_grey(d: Decomposition, frame: InputTraits) -> Decomposition:
    return monochrome(d) if frame.grey else d


def post_network_stages(options: StreamOptions, exposure_network: bool) -> list[NamedStage]:
    """The stages of one stream, in order: the noise filters that run, the input's bars, grey kept grey."""
    return [*(NamedStage(name, inside_bars(f)) for name, f in noise_filters(options, exposure_network)),
            NamedStage("bars and grey", input_bars), NamedStage("bars and grey", grey_stays_grey)]


def run_stages(stages: list[NamedStage], d: Decomposition, frame: InputTraits) -> Decomposition:
    for named in stages:
        with stage(named.name):
            d = named.run(d, frame)
    return d
