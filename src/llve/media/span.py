"""A part of a video chosen by a start and a duration, read as FFmpeg reads ``-ss`` and ``-t``.

Trying settings on two seconds of a long clip should not cost a full run. Times are counted from the video's
first timestamp, as FFmpeg counts them; a frame belongs to the span when ``start <= t < start + duration``
(FFmpeg's ``trim``), and the output starts at time 0 with the span's spacing between frames (variable rate kept).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from llve.core.errors import UserInputError

# FFmpeg's duration syntax: [-][HH:]MM:SS[.m...] or [-]S+[.m...][s|ms|us]
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")
_SECONDS = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(s|ms|us)?$")
_UNITS = {None: 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


def parse_time(text: str, what: str = "time") -> float:
    """Seconds from ``12.5``, ``1500ms``, ``01:02`` (minutes:seconds) or ``00:01:02.5``, as FFmpeg reads them."""
    text = text.strip()
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        if int(minutes) >= 60 or float(seconds) >= 60:
            raise UserInputError(f"{what} {text!r}: minutes and seconds run to 59")
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    plain = _SECONDS.match(text)
    if plain:
        return float(plain.group(1)) * _UNITS[plain.group(2)]
    raise UserInputError(f"{what} {text!r}: use seconds (12.5, 1500ms) or [HH:]MM:SS[.ms] as FFmpeg does")


@dataclass(frozen=True)
class Span:
    """Seconds from the video's first timestamp: ``start``, and ``duration`` (None: to the end)."""

    start: float = 0.0
    duration: float | None = None

    def __post_init__(self) -> None:
        if self.start < 0 or (self.duration is not None and self.duration <= 0):
            raise UserInputError("the start must be >= 0 and the duration > 0")

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.duration is None

    @property
    def end(self) -> float:
        return float("inf") if self.duration is None else self.start + self.duration

    def holds(self, seconds: float) -> bool:
        return self.start <= seconds < self.end

    def describe(self) -> str:
        """``from 1.5 s for 2 s``, for messages and the output's comment tag; empty for the whole video."""
        if self.whole:
            return ""
        return f"from {self.start:g} s" + (f" for {self.duration:g} s" if self.duration is not None else "")


def parse_span(start: str | None, duration: str | None) -> Span:
    """The span that ``--start`` and ``--duration`` name (either may be left out)."""
    return Span(parse_time(start, "start") if start else 0.0,
                parse_time(duration, "duration") if duration else None)
