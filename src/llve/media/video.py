"""Video decoding and encoding with PyAV, one frame at a time so memory does not grow with video length.

Frames are HxWx3 uint8 RGB numpy arrays. :class:`VideoWriter` keeps the input's frame rate and size, encodes
H.264 (yuv420p; yuv444p for odd sizes, which 4:2:0 cannot hold) or lossless FFV1, and copies the audio stream and
the display matrix (a phone's portrait clip is stored landscape with a rotation to apply on playback: frames are
enhanced as stored, and the output carries the same rotation, so it plays upright like its input). A part of a
video (:class:`~llve.media.span.Span`) is read and written with its own timing and audio; ``-`` names standard
output, where a raw Y4M stream goes by default (what pipes between video tools carry).
"""
from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from llve.core.errors import UserInputError, warn
from llve.core.stageclock import stage
from llve.media.encoders import Y4M, add_video_stream, ffmpeg_name, is_stdio, open_output
from llve.media.frames import natural_key
from llve.media.span import Span

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".avi", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".nut"}
LOSSLESS_CONTAINERS = {".mkv", ".avi", ".nut"}
ROTATING_CONTAINERS = {".mp4", ".mov", ".m4v", ".mkv", ".webm"}  # those that record a display matrix (tested)
IDENTITY_MATRIX = (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)  # FFmpeg's display matrix that changes nothing

@dataclass(frozen=True)
class VideoInfo:
    """What the writer needs to reproduce: size, frame rate, timing, frame count (None if unknown), the display
    matrix (FFmpeg's nine integers; None when the video has none: shown as stored), the colour description and the
    first timestamp in seconds (where a span's times count from)."""

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frames: int | None
    has_audio: bool
    display_matrix: tuple[int, ...] | None = None
    color: VideoColor | None = None
    start_time: float = 0.0


@dataclass(frozen=True)
class VideoColor:
    """How a video's YUV samples map to colours (FFmpeg's enum values; 2 and 0 mean unspecified). Decoding turns
    YUV into RGB by the input's matrix and range (BT.601, limited, where it names none); the writer turns RGB back
    by the same and records the same four, so a player shows input and output alike: an HD phone clip in BT.709,
    or a full-range one, keeps its colours and its blacks."""

    colorspace: int = 2
    color_range: int = 0
    primaries: int = 2
    trc: int = 2


def videos_in(folder: Path) -> dict[str, Path]:
    """The video files of a dataset folder by stem, in natural order."""
    if not folder.is_dir():
        raise UserInputError(f"dataset folder not found: {folder}")
    return {p.stem: p for p in sorted(folder.iterdir(), key=natural_key) if p.suffix.lower() in VIDEO_EXTENSIONS}


def _open(path: Path):
    if not path.is_file():
        raise UserInputError(f"input not found: {path}")
    try:
        container = av.open(ffmpeg_name(path))
    except av.EOFError:
        raise UserInputError(f"video {path} has no frames (empty or cut short)") from None
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"cannot open video {path}: {exc}") from None
    if not container.streams.video:
        container.close()
        raise UserInputError(f"no video stream in {path} (a video with no frames, or not a video)")
    return container


def probe_video(path: str | Path, span: Span = Span()) -> VideoInfo:
    """Read a video's size, frame rate and frame count (in ``span``), and its first frame's rotation and colours, in
    one pass that decodes nothing but that first frame."""
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.base_rate or stream.guessed_rate
        if not fps:
            warn(f"{path}: frame rate unknown, writing 25 fps")
            fps = Fraction(25)
        # Count packets instead of trusting the header: variable-frame-rate files (e.g. AVI with dropped
        # duplicates) declare more frames than they hold. Demuxing reads; only the first frame is decoded.
        count, first = 0, None
        try:
            for packet in container.demux(stream):
                count += bool(packet.size) and (packet.pts is None or span.holds(_seconds(packet.pts, stream)))
                if first is None:  # until the decoder gives its first frame (the empty last packet flushes it)
                    with contextlib.suppress(av.FFmpegError, ValueError):
                        first = next(iter(packet.decode()), None)
        except av.FFmpegError:
            count = None
        return stream_info(stream, fps, count or None, bool(container.streams.audio), first)


def stream_info(stream, fps: Fraction, frames: int | None, has_audio: bool, first: av.VideoFrame | None
                ) -> VideoInfo:
    """:class:`VideoInfo` of an open video stream, with its first decoded frame's rotation and colours."""
    time_base = stream.time_base or Fraction(1, 1) / Fraction(fps)
    start = float((stream.start_time or 0) * time_base)
    return VideoInfo(stream.codec_context.width, stream.codec_context.height, Fraction(fps), Fraction(time_base),
                     frames, has_audio, *frame_facts(first), start_time=start)


def _seconds(pts: int, stream) -> float:
    """A timestamp in seconds from the stream's first one, as a span counts."""
    return float((pts - (stream.start_time or 0)) * stream.time_base)


def upright(rgb: np.ndarray, matrix: tuple[int, ...] | None) -> np.ndarray:
    """``rgb`` (a frame as stored) turned as a player shows it: the display matrix's rotation (a multiple of 90
    degrees, counter-clockwise as FFmpeg reads it; mirroring is ignored). For showing frames, not for enhancing."""
    if matrix is None:
        return rgb
    quarter_turns = round(-math.degrees(math.atan2(matrix[1], matrix[0])) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, quarter_turns))


def frame_facts(frame: av.VideoFrame | None) -> tuple[tuple[int, ...] | None, VideoColor | None]:
    """The display matrix (rotation and flips to apply on playback; None if none) and the colour description of a
    decoded frame (both None without one)."""
    if frame is None:
        return None, None
    color = VideoColor(int(frame.colorspace), int(frame.color_range), int(frame.color_primaries),
                       int(frame.color_trc))
    side = frame.side_data.get("DISPLAYMATRIX")
    matrix = None if side is None else tuple(int(v) for v in np.frombuffer(bytes(side), np.int32))
    return (None if matrix == IDENTITY_MATRIX else matrix), color


def _announced_seconds(container, stream) -> float | None:
    """How long the container says the video stream is (its index or header), or None if it does not say.

    Read before decoding: a file cut short keeps its header, so this is what the whole file held.
    """
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = (stream.metadata or {}).get("DURATION")  # Matroska writes the track length as a tag
    if tag:
        with contextlib.suppress(ValueError):
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
    if container.duration and len(container.streams) == 1:  # only the video stream can make up that length
        return container.duration / av.time_base
    return None


def _check_complete(path: Path | str, count: int, first_pts, last_pts, stream, announced: float | None) -> None:
    """Warn when decoding ended well before the length the container announced (a file cut short).

    Threaded decoding does not always raise at the cut, so the decoded length is compared with the announced one.
    Variable frame rates and dropped duplicate frames do not trigger it: it compares times, not frame counts.
    """
    fps = float(stream.average_rate or stream.guessed_rate or 0)
    if announced is None or not fps or last_pts is None or first_pts is None or not stream.time_base:
        return
    decoded = float((last_pts - first_pts) * stream.time_base) + 1 / fps
    if announced - decoded > max(2.5 / fps, 0.01 * announced):
        warn(f"{path} is truncated or damaged: the container announces {announced:.2f} s "
             f"(about {round(announced * fps)} frames) but decoding ended after {count} frames ({decoded:.2f} s); "
             f"the output holds those {count} frames")


def read_video(path: str | Path, span: Span = Span()) -> Iterator[tuple[np.ndarray, int | None]]:
    """Yield (RGB frame, presentation timestamp in the stream's time base) of the frames in ``span``.

    A corrupt or truncated file: the frames before the damage are yielded, then a warning says where decoding
    stopped (the output is kept), also when the decoder stopped quietly short of the announced length; a file
    with no decodable frame is an error.
    """
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        announced = _announced_seconds(container, stream)
        if announced is not None and not span.whole:
            announced = min(announced, span.end) - span.start
        stream.thread_type = "AUTO"
        if span.start > 0:  # to the keyframe before the start; decode_frames drops the frames up to it
            with contextlib.suppress(av.FFmpegError):
                container.seek(int((stream.start_time or 0) + span.start / stream.time_base), stream=stream)
        frames = decode_frames(container, stream, path, span, announced)
        while True:
            with stage("decode"):
                frame = next(frames, None)
            if frame is None:
                return
            with stage("yuv to rgb"):
                rgb = frame.to_ndarray(format="rgb24")
            yield rgb, frame.pts


def decode_frames(container, stream, name: Path | str, span: Span, announced: float | None
                  ) -> Iterator[av.VideoFrame]:
    """The decoded frames of ``stream`` in ``span``, with :func:`read_video`'s handling of damage and truncation
    (``announced``: the seconds the container promises in the span, None if unknown)."""
    count, first_pts, last_pts = 0, None, None
    try:
        for frame in container.decode(stream):
            if frame.pts is not None and not span.whole:
                seconds = _seconds(frame.pts, stream)
                if seconds >= span.end:
                    break
                if seconds < span.start:
                    continue
            yield frame
            count += 1
            if frame.pts is not None:
                first_pts = frame.pts if first_pts is None else min(first_pts, frame.pts)
                last_pts = frame.pts if last_pts is None else max(last_pts, frame.pts)
    except (av.FFmpegError, ValueError) as exc:
        if count == 0:
            raise UserInputError(f"cannot decode any frame of {name}: {exc}") from None
        warn(f"{name} is corrupt or truncated: decoding stopped after {count} frames ({exc}); "
             f"the output holds those {count} frames")
        return
    if count == 0:
        where = f" {span.describe()}" if not span.whole else ""
        raise UserInputError(f"video {name} has no frames{where}")
    _check_complete(name, count, first_pts, last_pts, stream, announced)


class VideoWriter(contextlib.AbstractContextManager):
    """Encode RGB frames to ``path`` (its suffix picks the container; ``-``: standard output) at ``info``'s size and
    frame rate (from :func:`probe_video`), as H.264 or, if ``lossless``, FFV1 in RGB; raw frames in a Y4M stream.
    The audio of ``audio_from`` in ``span``, if it has any, is copied; ``comment`` goes into the container's comment
    tag; ``fmt`` names the container FFmpeg's way (``matroska``, ``nut``; standard output's default is Y4M);
    ``shown``: the name messages give the output (the final name where ``path`` is a temporary one). Use as a
    context manager."""

    def __init__(self, path: str | Path, info: VideoInfo, lossless: bool = False,
                 audio_from: str | Path | None = None, crf: int = 18, comment: str | None = None,
                 span: Span = Span(), fmt: str | None = None, shown: str | Path | None = None):
        self.path, self.info, self.span = Path(path), info, span
        self.shown = Path(shown or path)
        self.container = open_output(self.path, fmt)
        self.raw = self.container.format.name == Y4M  # constant rate: frames in order, no timestamps
        if comment and not self.raw:  # the container's "comment" tag (how the file was made); before the first frame
            self.container.metadata["comment"] = comment
        self.stream = add_video_stream(self.container, self.path, (info.width, info.height), info.fps, lossless,
                                       crf, self.raw)
        self._color = None if lossless and not self.raw else info.color  # FFV1 here stores RGB: no matrix to agree on
        if self._color is not None:
            context = self.stream.codec_context
            context.colorspace, context.color_range = self._color.colorspace, self._color.color_range
            context.color_primaries, context.color_trc = self._color.primaries, self._color.trc
        if info.display_matrix is not None:
            self._rotate(info.display_matrix)
        # Same time base as the input, so each frame keeps its exact timestamp (variable frame rate included); Y4M
        # reads its frame rate from the time base.
        self.time_base = 1 / info.fps if self.raw else info.time_base
        self.stream.time_base = self.stream.codec_context.time_base = self.time_base
        self._step = max(1, round(1 / (info.fps * self.time_base)))
        self._last_pts: int | None = None
        self._audio_in, self._audio_out = None, None
        if audio_from is not None and info.has_audio:
            self._add_audio(audio_from)

    def _rotate(self, matrix: tuple[int, ...]) -> None:
        self.stream.set_display_matrix(list(matrix))
        if self.raw or self.path.suffix.lower() not in ROTATING_CONTAINERS and not is_stdio(self.path):
            where = "a Y4M stream" if self.raw else self.path.suffix
            warn(f"{self.shown.name}: the input is shown rotated or flipped on playback, which {where} cannot "
                 "record; the output plays as stored (use .mp4, .mov or .mkv)")

    def _add_audio(self, audio_from: str | Path) -> None:
        if self.raw:
            warn("audio not copied: a Y4M stream holds video only (-f matroska or -f nut carry both)")
            return
        self._audio_in = av.open(ffmpeg_name(audio_from))
        try:
            self._audio_out = self.container.add_stream_from_template(self._audio_in.streams.audio[0])
        except (av.FFmpegError, ValueError) as exc:
            warn(f"audio not copied ({self.path.suffix or self.container.format.name} cannot hold it: {exc})")
            self._audio_in.close()
            self._audio_in = None

    def write(self, rgb: np.ndarray, pts: int | None = None) -> None:
        """Encode one frame at ``pts`` (input time base); without one, frames are spaced at the frame rate."""
        if self._last_pts is None:
            self._origin = pts or 0  # the output starts at time 0
            self._origin_s = self.info.start_time if pts is None else float(pts * self.info.time_base)
        if self.raw:
            pts = None if self._last_pts is None else self._last_pts + self._step
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            pts = self._origin if self._last_pts is None else self._last_pts + self._step
        self._last_pts = pts
        with stage("rgb to yuv"):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if self._color is not None:  # to YUV by the input's own matrix and range (VideoColor)
                frame = frame.reformat(format=self.stream.pix_fmt, dst_colorspace=self._color.colorspace,
                                       dst_color_range=self._color.color_range, dst_color_trc=self._color.trc,
                                       dst_color_primaries=self._color.primaries)
        frame.pts = pts - self._origin
        frame.time_base = self.time_base
        with stage("video encode"):
            self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        with stage("video encode"):
            self.container.mux(self.stream.encode(None))  # flush delayed frames
        if self._audio_in is not None:
            try:
                self._copy_audio()
            except av.FFmpegError as exc:
                warn(f"audio copy stopped early: {exc}")
        self.abort()  # closes the audio source and the container

    def _copy_audio(self) -> None:
        """The audio packets as they are; for a span, those from its first frame to its end, moved with the video
        so both start at 0 and stay in sync."""
        stream = self._audio_in.streams.audio[0]
        shift_s = 0.0 if self.span.whole or self._last_pts is None else self._origin_s
        end_s = self.info.start_time + self.span.end
        if shift_s > 0:
            with contextlib.suppress(av.FFmpegError):
                self._audio_in.seek(int(shift_s / stream.time_base), stream=stream)
        shift = round(shift_s / stream.time_base)
        for packet in self._audio_in.demux(stream):
            if packet.dts is None:
                continue
            if not self.span.whole:
                if packet.pts is None:
                    continue
                seconds = float(packet.pts * stream.time_base)
                if seconds >= end_s:
                    break
                if seconds < shift_s:
                    continue
                packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            packet.stream = self._audio_out
            self.container.mux(packet)

    def abort(self) -> None:
        if self._audio_in is not None:
            self._audio_in.close()
        if not is_stdio(self.path):
            self.container.close()
            return
        # A pipe whose reader has gone fails to take the container's trailer: the error that ended the run says so.
        with contextlib.suppress(OSError, av.FFmpegError):
            self.container.close()
            sys.stdout.buffer.flush()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort() if exc_type else self.close()
        if is_stdio(self.path) and exc_type is None:
            sys.stdout.buffer.flush()  # a closed reader raises here, after a successful close
