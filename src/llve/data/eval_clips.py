"""Test clips for ``llve test``: the frames of each sequence, cut and resized exactly as the protocol says.

The official STCD test reads each test sequence's first 30 frames, resizes every low-light and ground-truth
frame with ``cv2.resize(img, (960, 512))`` (bilinear, on uint8, width first), and swaps the channels of the
``.npy`` arrays ([2, 1, 0]) before the network. :class:`DataConfig` holds each of these choices.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal

import cv2
import numpy as np

from llve.data.frames import FRAME_EXTENSIONS, list_frames, natural_key, read_frame
from llve.data.sequences import PairedSequence, folder_sequences, sdsd_sequences, smid_sequences
from llve.errors import UserInputError

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}
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
        pairing: partner of frame t: ``next`` = min(t+1, last) (official), ``previous`` = max(t-1, 0) (causal),
            ``self`` = t. Only frame t's output is scored.
        npy_channels: ``bgr`` reverses the channels of ``.npy`` frames, as the official loader does.
        low, high: sub-folder names for ``folders`` and ``videos``.
    """

    kind: Literal["sdsd", "smid", "folders", "videos", "none"]
    root: str
    sequences: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    frames: int | None = 30
    size: tuple[int, int] | None = (960, 512)
    pairing: Literal["next", "previous", "self"] = "next"
    npy_channels: Literal["rgb", "bgr"] = "rgb"
    low: str = "low"
    high: str = "high"

    def __post_init__(self):
        if self.frames is not None and self.frames < 1:
            raise ValueError(f"frames must be >= 1 or null, got {self.frames}")
        if self.size is not None and min(self.size) < 1:
            raise ValueError(f"size must be positive [width, height], got {list(self.size)}")


@dataclass(frozen=True)
class Clip:
    """One test sequence in memory: uint8 RGB frames at evaluation size.

    ``gt`` is None without ground truth; with a single ground truth (SMID) it holds one frame for all.
    """

    name: str
    low: list[np.ndarray]
    gt: list[np.ndarray] | None
    files: list[str]

    @property
    def single_gt(self) -> bool:
        return self.gt is not None and len(self.gt) == 1 and len(self.low) > 1

    def gt_for(self, index: int) -> np.ndarray | None:
        if self.gt is None:
            return None
        return self.gt[0] if len(self.gt) == 1 else self.gt[index]


@dataclass(frozen=True)
class ClipSource:
    """A sequence not yet read: its name and how to read it (so only one clip is in memory at a time)."""

    name: str
    load: Callable[[], Clip]


def partner_index(t: int, n: int, pairing: str) -> int:
    """Index of the second frame the network sees when enhancing frame t of n."""
    if pairing == "next":
        return min(t + 1, n - 1)
    if pairing == "previous":
        return max(t - 1, 0)
    return t


def partner_schedule(n: int, pairing: str) -> list[int]:
    return [partner_index(t, n, pairing) for t in range(n)]


def _prepare(img: np.ndarray, path: Path | str, cfg: DataConfig) -> np.ndarray:
    if cfg.npy_channels == "bgr" and str(path).lower().endswith(".npy"):
        img = np.ascontiguousarray(img[:, :, ::-1])
    if cfg.size is not None and (img.shape[1], img.shape[0]) != tuple(cfg.size):
        img = cv2.resize(img, tuple(cfg.size), interpolation=cv2.INTER_LINEAR)
    return img


def _cut(name: str, items: list, cfg: DataConfig, warn: Warn) -> list:
    if cfg.frames is None:
        return items
    if len(items) < cfg.frames:
        warn(f"sequence {name} has {len(items)} frames, fewer than the {cfg.frames} the protocol asks; "
             f"scoring the {len(items)} that exist")
    return items[: cfg.frames]


def _read_files(paths: list[Path], cfg: DataConfig) -> list[np.ndarray]:
    return [_prepare(read_frame(p), p, cfg) for p in paths]


def _paired_source(seq: PairedSequence, cfg: DataConfig, warn: Warn) -> ClipSource:
    def load() -> Clip:
        low = _cut(seq.name, list(seq.low), cfg, warn)
        gt = list(seq.gt[:1]) if len(seq.gt) == 1 and len(seq.low) > 1 else list(seq.gt[: len(low)])
        return Clip(seq.name, _read_files(low, cfg), _read_files(gt, cfg), [p.name for p in low])
    return ClipSource(seq.name, load)


def read_video(path: Path, limit: int | None) -> list[np.ndarray]:
    """The first ``limit`` frames of a video as RGB uint8 (PyAV)."""
    import av

    frames = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                if limit is not None and len(frames) >= limit:
                    break
                frames.append(frame.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, IndexError) as exc:
        raise UserInputError(f"cannot read video {path}: {exc}") from None
    if not frames:
        raise UserInputError(f"video {path} has no frames")
    return frames


def _video_frames(path: Path, cfg: DataConfig, warn: Warn) -> tuple[list[np.ndarray], list[str]]:
    limit = cfg.frames
    frames = read_video(path, limit)
    frames = _cut(path.stem, frames, cfg, warn)
    return [_prepare(f, path, cfg) for f in frames], [f"{path.name}#{i}" for i in range(len(frames))]


def _videos_in(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise UserInputError(f"dataset folder not found: {folder}")
    return {p.stem: p for p in sorted(folder.iterdir(), key=natural_key) if p.suffix.lower() in VIDEO_EXTENSIONS}


def _video_sources(cfg: DataConfig, warn: Warn) -> list[ClipSource]:
    root = Path(cfg.root)
    low, high = _videos_in(root / cfg.low), _videos_in(root / cfg.high)
    names = list(cfg.sequences) if cfg.sequences is not None else [n for n in low if n not in cfg.exclude]
    missing = [n for n in names if n not in low or n not in high]
    if missing:
        raise UserInputError(f"videos missing in {root / cfg.low} or {root / cfg.high}: {', '.join(missing)}")
    if not names:
        raise UserInputError(f"no videos ({', '.join(sorted(VIDEO_EXTENSIONS))}) in {root / cfg.low}")

    def source(name: str) -> ClipSource:
        def load() -> Clip:
            lo, files = _video_frames(low[name], cfg, warn)
            gt, _ = _video_frames(high[name], cfg, lambda _msg: None)
            if len(gt) != len(lo):
                raise UserInputError(f"sequence {name}: {len(lo)} low-light but {len(gt)} ground-truth video frames")
            return Clip(name, lo, gt, files)
        return ClipSource(name, load)
    return [source(n) for n in names]


def _unpaired_sources(cfg: DataConfig, warn: Warn) -> list[ClipSource]:
    """No ground truth: ROOT is a video, a folder of frames, or a folder holding videos and frame folders."""
    root = Path(cfg.root)
    if root.is_file():
        entries = [root]
    elif root.is_dir() and any(p.suffix.lower() in FRAME_EXTENSIONS for p in root.iterdir()):
        entries = [root]
    elif root.is_dir():
        entries = [p for p in sorted(root.iterdir(), key=natural_key)
                   if p.is_dir() or p.suffix.lower() in VIDEO_EXTENSIONS]
    else:
        raise UserInputError(f"input not found: {root}")
    names = {(p.stem if p.is_file() else p.name): p for p in entries}
    if cfg.sequences is not None:
        unknown = [n for n in cfg.sequences if n not in names]
        if unknown:
            raise UserInputError(f"sequences not found under {root}: {', '.join(unknown)}")
        names = {n: names[n] for n in cfg.sequences}
    names = {n: p for n, p in names.items() if n not in cfg.exclude}
    if not names:
        raise UserInputError(f"no videos or frame folders in {root}")

    def source(name: str, path: Path) -> ClipSource:
        def load() -> Clip:
            if path.is_file():
                frames, files = _video_frames(path, cfg, warn)
            else:
                paths = _cut(name, list_frames(path), cfg, warn)
                frames, files = _read_files(paths, cfg), [p.name for p in paths]
            return Clip(name, frames, None, files)
        return ClipSource(name, load)
    return [source(n, p) for n, p in names.items()]


def clip_sources(cfg: DataConfig, warn: Warn) -> list[ClipSource]:
    """The test sequences of a config, in order, each read only when its ``load`` is called."""
    if cfg.kind == "videos":
        return _video_sources(cfg, warn)
    if cfg.kind == "none":
        return _unpaired_sources(cfg, warn)
    names = list(cfg.sequences) if cfg.sequences is not None else None
    if cfg.kind == "sdsd":
        seqs = sdsd_sequences(cfg.root, names, cfg.exclude)
    elif cfg.kind == "smid":
        seqs = smid_sequences(cfg.root, names, cfg.exclude)
    else:
        seqs = folder_sequences(cfg.root, names, cfg.exclude, low=cfg.low, high=cfg.high)
    if not seqs:
        raise UserInputError(f"no test sequences found under {cfg.root}")
    return [_paired_source(s, cfg, warn) for s in seqs]


def iter_clips(sources: list[ClipSource]) -> Iterator[Clip]:
    for s in sources:
        yield s.load()
