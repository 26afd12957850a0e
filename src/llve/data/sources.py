"""Training data sources: which files make up a dataset, in each supported layout, and its train/test split.

A source is either a list of :class:`~llve.data.sequences.PairedSequence` (videos: SDSD, SMID, frame folders,
paired video files) or a list of static image pairs (turned into frame pairs by random motion).

Channel order: the official SDSD/SMID loader (``read_img_seq2``) loads each ``.npy`` frame and reverses its
channels (``[:, :, [2, 1, 0]]``), i.e. it treats the stored arrays as BGR (they were written from OpenCV).
``channel_order: bgr`` (the default for ``sdsd`` and ``smid``) does the same, so our networks see exactly what
the official ones saw and official checkpoints keep working. Image files (png/jpg) are always decoded to RGB.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from llve.core.atomic import atomic_output
from llve.core.errors import UserInputError
from llve.data.sequences import PairedSequence, folder_sequences, sdsd_sequences, select_names, smid_sequences
from llve.media.frames import list_frames, natural_key, read_frame, write_frame
from llve.media.video import read_video, videos_in


@dataclass(frozen=True)
class SourceConfig:
    """One dataset.

    Args:
        kind: ``sdsd`` (ROOT/input, ROOT/GT), ``smid`` (ROOT/SMID_LQ_np, ROOT/SMID_Long_np), ``folders``
            (ROOT/low/<seq>/frames, ROOT/high/<seq>/frames), ``videos`` (ROOT/low/<name>.mp4 and
            ROOT/high/<name>.mp4, decoded once into the cache) or ``images`` (ROOT/low/x.png, ROOT/high/x.png).
        root: dataset folder.
        test: sequence names (image stems for ``images``) held out for validation; training uses the rest.
        name: key of this dataset in the correspondence cache (default: ``<kind>-<folder name>``).
        low, high: sub-folder names for ``folders``, ``videos`` and ``images``.
        channel_order: how ``.npy`` frames are stored; ``bgr`` reverses channels like the official loader.
            Default: ``bgr`` for sdsd/smid, ``rgb`` otherwise.
        synthesize: the low-light frames are made anew for every item from the ground truth by a random camera
            (:mod:`llve.data.camera`): clean footage becomes endless realistic training pairs. Set ``low`` to
            the ``high`` folder (e.g. both ``.`` for a folder of clean videos or images).
        inputs, reference: for ``stacks`` (ROOT/<stack>/<input>.jpg + ROOT/<stack>/<reference>.jpg, real
            multi-exposure stacks such as SICE): the shots used as low-light inputs and the target's name.
            Each (stack, input) is a static image pair; ``test`` lists stack names.
    """

    kind: Literal["sdsd", "smid", "folders", "videos", "images", "stacks"]
    root: str
    test: tuple[str, ...] = ()
    name: str | None = None
    low: str = "low"
    high: str = "high"
    channel_order: Literal["rgb", "bgr"] | None = None
    synthesize: bool = False
    inputs: tuple[str, ...] = ("dark1", "dark2")
    reference: str = "reference"

    @property
    def key(self) -> str:
        return self.name or f"{self.kind}-{Path(self.root).name}"

    @property
    def npy_bgr(self) -> bool:
        return (self.channel_order or ("bgr" if self.kind in ("sdsd", "smid") else "rgb")) == "bgr"


def load_frame(path: Path, npy_bgr: bool) -> np.ndarray:
    """HxWx3 uint8 RGB; ``.npy`` frames stored as BGR are reversed here, the one place this rule lives."""
    img = read_frame(path)
    if npy_bgr and path.suffix.lower() == ".npy":
        img = np.ascontiguousarray(img[:, :, ::-1])
    return img


def video_sequences(root: Path, low: str, high: str, cache: Path, names: list[str] | None,
                    exclude: tuple[str, ...]) -> list[PairedSequence]:
    """Paired video files ``ROOT/low/<name>.<ext>`` / ``ROOT/high/<name>.<ext>``, decoded once into ``cache``."""
    videos = {side: videos_in(root / side) for side in (low, high)}
    stems = sorted(set(videos[low]) | set(videos[high]), key=lambda s: natural_key(Path(s)))
    unpaired = [s for s in stems if s not in videos[low] or s not in videos[high]]
    if unpaired:
        raise UserInputError(f"videos without a partner in {root}/{low} and {root}/{high}: {', '.join(unpaired)}")
    wanted = select_names(stems, names, exclude, "videos", root / low)
    for stem in wanted:
        for side in (low, high):
            target = cache / side / stem
            if not target.is_dir():  # decoded once into PNG frames (RGB), atomically
                with atomic_output(target, is_dir=True) as tmp:
                    for i, (rgb, _) in enumerate(read_video(videos[side][stem])):
                        write_frame(tmp / f"{i:06d}.png", rgb)
    return folder_sequences(cache, wanted, low=low, high=high)


def image_pairs(root: Path, low: str, high: str, names: list[str] | None,
                exclude: tuple[str, ...]) -> list[tuple[str, Path, Path]]:
    """Static pairs ``ROOT/low/x.png`` + ``ROOT/high/x.png`` as (stem, low path, high path)."""
    lows = {p.stem: p for p in list_frames(root / low)}
    highs = {p.stem: p for p in list_frames(root / high)}
    missing = sorted(set(lows) ^ set(highs))
    if missing:
        raise UserInputError(f"images without a partner between {root / low} and {root / high}: "
                             f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    stems = select_names(lows, names, exclude, "images", root / low)
    return [(s, lows[s], highs[s]) for s in sorted(stems, key=lambda s: natural_key(Path(s)))]


def stack_pairs(root: Path, inputs: tuple[str, ...], reference: str, names: list[str] | None,
                exclude: tuple[str, ...]) -> list[tuple[str, Path, Path]]:
    """Real exposure stacks ``ROOT/<stack>/<input>.<ext>`` -> reference, as (``stack/input``, low, high) pairs."""
    if not root.is_dir():
        raise UserInputError(f"dataset folder not found: {root}")
    present = [p.name for p in sorted((p for p in root.iterdir() if p.is_dir()), key=natural_key)]
    out = []
    for stack in (root / n for n in select_names(present, names, exclude, "stacks", root)):
        shots = {p.stem: p for p in list_frames(stack)}
        if reference not in shots:
            raise UserInputError(f"stack {stack} has no '{reference}' image")
        out.extend((f"{stack.name}/{i}", shots[i], shots[reference]) for i in inputs if i in shots)
    return out


def resolve(cfg: SourceConfig, split: Literal["train", "test"], cache: Path) -> list:
    """The sequences (or image pairs) of one split: ``train`` is everything but ``cfg.test``; ``test`` is
    ``cfg.test``."""
    root = Path(cfg.root)
    names = list(cfg.test) if split == "test" else None
    exclude = tuple(cfg.test) if split == "train" else ()
    if split == "test" and not names:
        return []
    if cfg.kind == "sdsd":
        return sdsd_sequences(root, names, exclude)
    if cfg.kind == "smid":
        return smid_sequences(root, names, exclude)
    if cfg.kind == "folders":
        return folder_sequences(root, names, exclude, low=cfg.low, high=cfg.high)
    if cfg.kind == "videos":
        return video_sequences(root, cfg.low, cfg.high, cache / "videos" / cfg.key, names, exclude)
    if cfg.kind == "stacks":
        return stack_pairs(root, cfg.inputs, cfg.reference, names, exclude)
    return image_pairs(root, cfg.low, cfg.high, names, exclude)
