"""Frame sources and sinks: a video, a frame folder or an image as a stream of ``(key, frame)``, and its writer.

The key travels with its frame through the stream (:mod:`llve.stream.pipeline`) and back: a video frame's presentation
timestamp (so the output keeps the input's timing, variable frame rate included) or a frame file's path (so the
output keeps its name). A sink writes a result where its key says, in the source's kind. ``-`` is standard input
as a source and standard output as a sink (a video stream, Y4M unless another container is named).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from llve.core.errors import UserInputError
from llve.media.frames import FRAME_EXTENSIONS, list_frames, read_frame, write_frame
from llve.media.span import Span
from llve.media.video import VideoWriter, is_stdio, probe_video, read_video

Kind = Literal["video", "folder", "image"]


def input_kind(path: Path, missing_ok: bool = False) -> Kind:
    """``folder``, ``image`` or ``video``, from what the path is (``-``, standard input, is a video);
    ``missing_ok``: a missing path's kind is guessed from its name (a batch names its output before that input
    fails)."""
    if is_stdio(path):
        return "video"
    if path.is_dir() or (missing_ok and not path.exists() and not path.suffix):
        return "folder"
    if not path.exists() and not missing_ok:
        raise UserInputError(f"input not found: {path}")
    return "image" if path.suffix.lower() in FRAME_EXTENSIONS else "video"


class FrameSource:
    """The frames of a video, frame folder (natural order) or image at ``path`` (:func:`input_kind`), read lazily as
    ``(key, HxWx3 uint8 RGB)``, or of the video on standard input (``-``); ``on_convert`` hears of each image
    converted (grayscale, alpha, 16-bit) to 8-bit RGB; ``span``: a video's frames from a start for a duration."""

    def __init__(self, path: str | Path, on_convert: Callable[[str], None] | None = None, span: Span = Span()):
        self.path = Path(path)
        self.kind = input_kind(self.path)
        self.on_convert, self.span, self.stdin = on_convert, span, None
        if self.kind != "video" and not span.whole:
            raise UserInputError(f"{self.path}: a start and a duration apply to videos, not to a {self.kind}")
        if is_stdio(self.path):
            from llve.media.pipes import StdinVideo

            self.stdin = StdinVideo(span)
            self.info, self.total = self.stdin.info, None
        elif self.kind == "video":
            self.info = probe_video(self.path, span)
            self.total = self.info.frames  # None when unknown
        else:
            self.files = list_frames(self.path) if self.kind == "folder" else [self.path]
            self.total = len(self.files)

    def __iter__(self) -> Iterator[tuple[int | None | Path, np.ndarray]]:
        """``(timestamp, frame)`` of a video (``None`` where the container has no timestamp), ``(path, frame)`` else."""
        if self.kind == "video":
            frames = self.stdin if self.stdin is not None else read_video(self.path, self.span)
            return ((pts, rgb) for rgb, pts in frames)
        return ((file, read_frame(file, self.on_convert)) for file in self.files)


def frame_name(file: Path, lossless: bool) -> str:
    """The output name of a folder's frame: its own, or PNG when lossless."""
    return file.stem + ".png" if lossless else file.name


def check_frame_names(files: list[Path], lossless: bool) -> None:
    """Refuse frames that would be written to one name (``a.jpg`` and ``a.png`` are both ``a.png`` when lossless)."""
    seen: dict[str, Path] = {}
    for file in files:
        name = frame_name(file, lossless)
        if seen.setdefault(name, file) != file:
            raise UserInputError(f"frames {seen[name].name} and {file.name} would both be written as {name}; "
                                 "rename one")


class FrameSink(contextlib.AbstractContextManager):
    """Writes results keyed like ``source``'s frames (kind, size, frame rate, timestamps) to ``path``, a video file,
    folder or image as the source; ``lossless``: FFV1 video or PNG frames; ``audio``: copy the source video's audio
    stream (of the source's span); ``comment``: a video's comment tag (images and frames carry none); ``fmt``: a
    video's container, FFmpeg's name (default: by the suffix; Y4M on standard output); ``shown``: the output's name
    in messages, where ``path`` is a temporary name. A context manager."""

    def __init__(self, source: FrameSource, path: str | Path, lossless: bool = False, audio: bool = False,
                 comment: str | None = None, fmt: str | None = None, shown: str | Path | None = None):
        self.kind, self.path, self.lossless = source.kind, Path(path), lossless
        self.video = None
        if is_stdio(self.path) and self.kind != "video":
            raise UserInputError(f"only a video can be written to standard output, not a {self.kind}",
                                 setting="output")
        if self.kind == "video":
            audio_from = source.path if audio and source.stdin is None else None
            self.video = VideoWriter(self.path, source.info, lossless, audio_from=audio_from, comment=comment,
                                     span=source.span, fmt=fmt, shown=shown)

    def write(self, key, rgb: np.ndarray) -> None:
        if self.video is not None:
            self.video.write(rgb, key)
        elif self.kind == "image":
            write_frame(self.path, rgb)
        else:
            write_frame(self.path / frame_name(key, self.lossless), rgb)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.video is not None:
            self.video.__exit__(exc_type, exc, tb)
