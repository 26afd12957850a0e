"""A video on standard input: what ``ffmpeg -i in.mov -f yuv4mpegpipe - | llve enhance - -o -`` hands over.

A pipe is read once and cannot be probed ahead, so the stream's header and first frame give what a file's probe
gives (size, rate, colours); the frame count is unknown. FFmpeg recognises the format by its first bytes: Y4M, and
streamable containers such as NUT and Matroska. Audio on a pipe is not carried over (the writer copies audio by
reading the input a second time); a warning says so.
"""
from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np

from llve.core.errors import UserInputError, warn
from llve.media.span import Span
from llve.media.video import decode_frames, stream_info

NAME = "standard input"


class StdinVideo:
    """The video on standard input, read as ``(RGB frame, timestamp)`` once, frames in ``span`` only.

    Args:
        span: the part to read (frames before it are decoded and dropped; reading stops at its end).
        stdin: a binary stream to read instead of ``sys.stdin.buffer`` (tests).
    """

    def __init__(self, span: Span = Span(), stdin=None):
        try:
            self._container = av.open(stdin or sys.stdin.buffer, mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise UserInputError(f"cannot read a video from {NAME}: {exc}") from None
        if not self._container.streams.video:
            self._container.close()
            raise UserInputError(f"no video stream on {NAME}")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = stream.average_rate or stream.base_rate or stream.guessed_rate
        if not fps:
            warn(f"{NAME}: frame rate unknown, writing 25 fps")
            fps = Fraction(25)
        self._frames = decode_frames(self._container, stream, NAME, span, None)
        self._first = next(self._frames)  # decode_frames raises when there is none
        if self._container.streams.audio:
            warn(f"the audio on {NAME} is not copied (a pipe is read once); mux it back from the source")
        self.info = stream_info(stream, Fraction(fps), None, False, self._first)

    def __iter__(self) -> Iterator[tuple[np.ndarray, int | None]]:
        try:
            for frame in itertools.chain([self._first], self._frames):
                yield frame.to_ndarray(format="rgb24"), frame.pts
        finally:
            self._container.close()
