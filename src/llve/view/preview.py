"""What the viewer (``llve view``) computes, without the web framework: quick previews, their measures, full runs.

A preview is the first seconds of a clip, downscaled so that the network answers in seconds on a CPU; the full run
is exactly ``llve enhance`` (:func:`llve.run.enhance.enhance_path`) and can be cancelled without leaving a file behind.
"""
from __future__ import annotations

import itertools
import math
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llve.core.errors import UserInputError, heard_warnings
from llve.core.image import mean_luma_255
from llve.evaluate.metrics import flicker_floor, newly_clipped, noise_change, noise_sigma, relative_flicker
from llve.media.frames import FRAME_EXTENSIONS, downscale, read_frame
from llve.media.video import probe_video, read_video, upright


@dataclass(frozen=True)
class PreviewConfig:
    """How much of a clip the preview shows. Args: the first ``seconds`` of a video, never more than ``max_frames``
    frames whatever the frame rate, downscaled so that the longer side is at most ``max_side`` (never upscaled)."""

    seconds: float = 2.0
    max_frames: int = 60
    max_side: int = 320


@dataclass(frozen=True)
class Clip:
    """The decoded preview frames of an upload (HxWx3 uint8 RGB, downscaled) and what the upload is."""

    frames: list[np.ndarray]
    kind: str  # "image" or "video"
    fps: float
    width: int  # of the upload, before downscaling
    height: int
    total_frames: int | None  # of the whole upload (None: unknown)


def media_kind(path: str | Path) -> str:
    """``image`` or ``video``: what the viewer can read at ``path``; anything else is a one-line error."""
    path = Path(path)
    if path.suffix.lower() in FRAME_EXTENSIONS:
        read_frame(path)  # raises UserInputError naming the file when it is not a readable image
        return "image"
    try:
        probe_video(path)
    except UserInputError:
        raise UserInputError(f"{path.name} is not a video or an image this viewer can read") from None
    return "video"


def warnings_about(heard: list[str], src: Path) -> list[str]:
    """The warnings among ``heard`` that name ``src`` (other sessions' are not this page's), with its file name
    for its path (an upload's path is a temporary folder the user never chose)."""
    return [message.replace(str(src), src.name) for message in heard if str(src) in message]


def load_clip(path: str | Path, settings: PreviewConfig = PreviewConfig()) -> Clip:
    """Decode the preview frames of an image or a video (only the first seconds of a video are decoded)."""
    kind = media_kind(path)
    if kind == "image":
        rgb = read_frame(path)
        return Clip([downscale(rgb, settings.max_side)], kind, 0.0, rgb.shape[1], rgb.shape[0], 1)
    info = probe_video(path)
    fps = float(info.fps)
    count = max(1, min(settings.max_frames, math.ceil(settings.seconds * fps)))
    frames = [downscale(upright(rgb, info.display_matrix), settings.max_side)  # a phone's portrait clip upright
              for rgb, _ in itertools.islice(read_video(path), count)]
    return Clip(frames, kind, fps, info.width, info.height, info.frames)


@dataclass(frozen=True)
class Measures:
    """No-reference measures of an enhanced clip against its input, as ``llve test`` reports them for real footage
    (:mod:`llve.evaluate.metrics`).

    Args:
        input_brightness / output_brightness: mean luma in [0, 1].
        newly_clipped: fraction of pixels clipped in the output (a channel >= 250) that were not in the input.
        input_noise / output_noise: wavelet MAD noise sigma in 8-bit units after scaling each frame to mean luma 128,
            so that a brighter output is not called noisier for being brighter.
        relative_flicker: the output's frame-to-frame log-brightness flicker over the input's, both at least the
            flicker floor (None: a single frame); above 1 the enhancement adds flicker.
        flicker_floor: the change of log brightness per frame that the input's noise could make (at least 0.001):
            changes below it are too small to tell from noise.
    """

    input_brightness: float
    output_brightness: float
    newly_clipped: float
    input_noise: float
    output_noise: float
    relative_flicker: float | None
    flicker_floor: float | None = None


def measure(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> Measures:
    """The measures of ``outputs`` (enhanced frames) against ``inputs`` (same size, same order)."""
    if not inputs or len(inputs) != len(outputs):
        raise ValueError(f"need as many outputs as inputs, got {len(inputs)} and {len(outputs)}")
    in_lumas, out_lumas = [mean_luma_255(f) for f in inputs], [mean_luma_255(f) for f in outputs]
    floor = flicker_floor([noise_change(a, b) for a, b in zip(inputs, inputs[1:])])
    return Measures(input_brightness=float(np.mean(in_lumas)) / 255, output_brightness=float(np.mean(out_lumas)) / 255,
                    newly_clipped=float(np.mean([newly_clipped(i, o) for i, o in zip(inputs, outputs)])),
                    input_noise=float(np.mean([noise_sigma(f) for f in inputs])),
                    output_noise=float(np.mean([noise_sigma(f) for f in outputs])),
                    relative_flicker=relative_flicker(in_lumas, out_lumas, floor),
                    flicker_floor=floor if len(inputs) > 1 else None)


class Cancelled(BaseException):
    """Raised inside a running :class:`FullRun` after :meth:`FullRun.cancel` (a BaseException, like Ctrl-C, so no
    ``except Exception`` on the way swallows it)."""


class _Stoppable:
    """An Enhancer whose stream ends with :class:`Cancelled` at the next frame once ``stop`` is set."""

    def __init__(self, enhancer, stop: threading.Event):
        self._enhancer, self._stop = enhancer, stop

    def __getattr__(self, name: str):
        return getattr(self._enhancer, name)

    def stream(self, items, components: bool = True):
        for item in self._enhancer.stream(items, components):
            if self._stop.is_set():
                raise Cancelled
            yield item


class FullRun:
    """One full-resolution enhancement into its own folder, cancellable from another thread.

    Cancelling ends the enhancer's stream at the next frame with :class:`Cancelled`, which unwinds
    :func:`llve.run.enhance.enhance_path` like any error (its temporary outputs are removed); :meth:`run` then removes
    its folder.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.warnings: list[str] = []
        self._stop = threading.Event()
        self._started = threading.Event()
        self._finished = threading.Event()

    def stoppable(self, enhancer):
        """``enhancer`` as the run must use it, so that :meth:`cancel` can stop it."""
        return _Stoppable(enhancer, self._stop)

    def run(self, enhance: Callable[[Path], Path], name: str, about: Path | None = None) -> Path:
        """Call ``enhance(folder / name)``; return its output, or raise :class:`Cancelled`. The warnings said about
        the input ``about`` meanwhile (a truncated upload) are kept in :attr:`warnings` for the page."""
        self._started.set()
        try:
            if self._stop.is_set():
                raise Cancelled
            self.folder.mkdir(parents=True, exist_ok=True)
            with heard_warnings() as heard:
                out = enhance(self.folder / name)
            self.warnings = warnings_about(heard, about) if about is not None else []
            if self._stop.is_set():  # cancel() came as the run finished: the result is not wanted either
                raise Cancelled
            return out
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        finally:
            self._finished.set()

    def wait(self, timeout_s: float) -> bool:
        """Wait until :meth:`run` has returned or raised (and cleaned up); False on timeout."""
        return self._finished.wait(timeout_s)

    def cancel(self) -> bool:
        """Stop the run (or the run about to start); True if one was running."""
        self._stop.set()
        return self._started.is_set() and not self._finished.is_set()
