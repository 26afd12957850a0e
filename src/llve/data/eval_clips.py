"""Test clips for ``llve test``: the frames of each sequence, cut and resized exactly as the protocol says.

The official STCD test reads each test sequence's first 30 frames, resizes every low-light and ground-truth
frame with ``cv2.resize(img, (960, 512))`` (bilinear, on uint8, width first), and swaps the channels of the
``.npy`` arrays ([2, 1, 0]) before the network. :class:`DataConfig` holds each of these choices.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from llve.core.errors import UserInputError
from llve.data.sequences import PairedSequence, folder_sequences, sdsd_sequences, select_names, smid_sequences
from llve.data.sources import SourceConfig, load_frame
from llve.media.frames import FRAME_EXTENSIONS, list_frames, natural_key, resize_to
from llve.media.video import VIDEO_EXTENSIONS, probe_video, read_video, videos_in

Warn = Callable[[str], None]


@dataclass(frozen=True)
class DataConfig:
    """Which frames are scored, and how they are prepared.

    Args:
        kind: ``sdsd`` (ROOT/input, ROOT/GT), ``smid`` (ROOT/SMID_LQ_np, one GT in ROOT/SMID_Long_np),
            ``folders`` (ROOT/<low>/<seq>, ROOT/<high>/<seq>), ``videos`` (ROOT/<low>/<name>.mp4 paired with
            ROOT/<high>/<name>.*), ``none`` (no ground truth: ROOT is a video, a frame folder, or a folder of them).
        root: dataset folder (or, for ``none``, a single video / frame folder).
        sequences: the test list; None takes every sequence found (minus ``exclude``).
        frames: score only each sequence's first N frames (official: 30); None scores all.
        size: resize every frame to (width, height) before anything else (official: [960, 512]); None keeps it.
        channel_order: how ``.npy`` frames are stored; ``bgr`` reverses them as the official loader does
            (default: ``bgr`` for sdsd/smid, ``rgb`` otherwise; the rule lives in ``llve.data.sources``).
        low, high: sub-folder names for ``folders`` and ``videos``.
    """

    kind: Literal["sdsd", "smid", "folders", "videos", "none"]
    root: str
    sequences: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    frames: int | None = 30
    size: tuple[int, int] | None = (960, 512)
    channel_order: Literal["rgb", "bgr"] | None = None
    low: str = "low"
    high: str = "high"

    def __post_init__(self):
        if self.frames is not None and self.frames < 1:
            raise ValueError(f"frames must be >= 1 or null, got {self.frames}")
        if self.size is not None and min(self.size) < 1:
            raise ValueError(f"size must be positive [width, height], got {list(self.size)}")


class FramePair(NamedTuple):
    """One frame to score: its file label, the low-light frame and its ground truth (None without), uint8 RGB."""

    file: str
    low: np.ndarray
    gt: np.ndarray | None


@dataclass(frozen=True)
class ClipSource:
    """A test sequence, read lazily frame by frame so that long videos never sit in memory. Args: count: how many
    frames will be scored, when known before reading (for choosing report frames); gt: ``per_frame``, ``single``
    (SMID: one ground truth for every frame) or ``none``; read: an iterator of :class:`FramePair` (cut, resized)."""

    name: str
    count: int | None
    gt: Literal["per_frame", "single", "none"]
    read: Callable[[], Iterator[FramePair]]


def _read(path: Path, cfg: DataConfig) -> np.ndarray:
    kind = cfg.kind if cfg.kind != "none" else "folders"  # .npy channel order: the training data's rule
    return resize_to(load_frame(path, SourceConfig(kind, cfg.root, channel_order=cfg.channel_order).npy_bgr), cfg.size)


def _clip(name: str, count: int | None, gt: str, pairs: Callable[[], Iterator[FramePair]], cfg: DataConfig,
          warn: Warn) -> ClipSource:
    """The protocol's cut of a sequence (``count``: its frames, when known before reading): reading stops after
    ``cfg.frames`` frames and reads no further; a warning names the sequence if it had fewer."""

    def read() -> Iterator[FramePair]:
        n, stream = 0, pairs()
        try:
            for n, pair in enumerate(itertools.islice(stream, cfg.frames), 1):  # noqa: B007 (read after the loop)
                yield pair
        finally:
            stream.close()  # release open video containers now, not at garbage collection
        if cfg.frames is not None and n < cfg.frames:
            warn(f"sequence {name} has {n} frames, fewer than the {cfg.frames} the protocol asks; "
                 f"scoring the {n} that exist")
    return ClipSource(name, None if count is None else min(count, cfg.frames or count), gt, read)


def _paired_source(seq: PairedSequence, cfg: DataConfig, warn: Warn) -> ClipSource:
    single = len(seq.gt) == 1 and len(seq.low) > 1

    def pairs() -> Iterator[FramePair]:
        gt_single = _read(seq.gt[0], cfg) if single else None
        for i, path in enumerate(seq.low):
            yield FramePair(path.name, _read(path, cfg), gt_single if single else _read(seq.gt[i], cfg))
    return _clip(seq.name, len(seq.low), "single" if single else "per_frame", pairs, cfg, warn)


def _video_source(name: str, low: Path, high: Path | None, cfg: DataConfig, warn: Warn) -> ClipSource:
    def pairs() -> Iterator[FramePair]:
        gts = read_video(high) if high is not None else None
        for i, (frame, _pts) in enumerate(read_video(low)):
            gt = next(gts, None) if gts is not None else None
            if gts is not None and gt is None:
                raise UserInputError(f"sequence {name}: ground-truth video {high} ends at frame {i}, "
                                     f"before the low-light video {low}")
            gt_frame = None if gt is None else resize_to(gt[0], cfg.size)
            yield FramePair(f"{low.name}#{i}", resize_to(frame, cfg.size), gt_frame)
    return _clip(name, probe_video(low).frames, "none" if high is None else "per_frame", pairs, cfg, warn)


def _video_sources(cfg: DataConfig, warn: Warn) -> list[ClipSource]:
    root = Path(cfg.root)
    low, high = videos_in(root / cfg.low), videos_in(root / cfg.high)
    names = list(cfg.sequences) if cfg.sequences is not None else [n for n in low if n not in cfg.exclude]
    missing = [n for n in names if n not in low or n not in high]
    if missing:
        raise UserInputError(f"videos missing in {root / cfg.low} or {root / cfg.high}: {', '.join(missing)}")
    if not names:
        raise UserInputError(f"no videos ({', '.join(sorted(VIDEO_EXTENSIONS))}) in {root / cfg.low}")
    return [_video_source(n, low[n], high[n], cfg, warn) for n in names]


def _folder_source(name: str, folder: Path, cfg: DataConfig, warn: Warn) -> ClipSource:
    paths = list_frames(folder)
    return _clip(name, len(paths), "none", lambda: (FramePair(p.name, _read(p, cfg), None) for p in paths), cfg, warn)


def _unpaired_sources(cfg: DataConfig, warn: Warn) -> list[ClipSource]:
    """No ground truth: ROOT is a video, a folder of frames, or a folder holding videos and frame folders."""
    root = Path(cfg.root)
    if root.is_file() or (root.is_dir() and any(p.suffix.lower() in FRAME_EXTENSIONS for p in root.iterdir())):
        entries = [root]
    elif root.is_dir():
        entries = [p for p in sorted(root.iterdir(), key=natural_key)
                   if p.is_dir() or p.suffix.lower() in VIDEO_EXTENSIONS]
    else:
        raise UserInputError(f"input not found: {root}")
    found = {(p.stem if p.is_file() else p.name): p for p in entries}
    names = [n for n in select_names(found, cfg.sequences, (), "sequences", root) if n not in cfg.exclude]
    if not names:
        raise UserInputError(f"no videos or frame folders in {root}")
    return [_video_source(n, p, None, cfg, warn) if p.is_file() else _folder_source(n, p, cfg, warn)
            for n, p in ((n, found[n]) for n in names)]


def clip_sources(cfg: DataConfig, warn: Warn) -> list[ClipSource]:
    """The test sequences of a config, in order; nothing is decoded until a source's ``read`` is iterated."""
    if cfg.kind == "videos":
        return _video_sources(cfg, warn)
    if cfg.kind == "none":
        return _unpaired_sources(cfg, warn)
    if cfg.kind == "sdsd":
        seqs = sdsd_sequences(cfg.root, cfg.sequences, cfg.exclude)
    elif cfg.kind == "smid":
        seqs = smid_sequences(cfg.root, cfg.sequences, cfg.exclude)
    else:
        seqs = folder_sequences(cfg.root, cfg.sequences, cfg.exclude, low=cfg.low, high=cfg.high)
    if not seqs:
        raise UserInputError(f"no test sequences found under {cfg.root}")
    return [_paired_source(s, cfg, warn) for s in seqs]
