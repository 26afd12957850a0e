"""``llve synth``: clean footage -> paired low-light training data in the generic paired-folder layout.

Output layout (what :func:`llve.data.sequences.folder_sequences` reads)::

    OUT/high/<seq>/00000.png   clean frames (resized if asked)
    OUT/low/<seq>/00000.png    the same frames darkened by one simulated camera per sequence
    OUT/meta/<seq>.json        that camera's parameters and the seed, to reproduce or analyse the data
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from llve.core.atomic import atomic_output
from llve.core.errors import UserInputError
from llve.data.camera import SynthRanges, darken, draw_params, write_sidecar
from llve.data.motion import still_to_clip
from llve.media.frames import FRAME_EXTENSIONS, downscale, list_frames, read_frame, write_frame
from llve.media.video import read_video


@dataclass(frozen=True)
class SynthConfig:
    """Args: max_frames: per sequence (0 = all); stride: keep every n-th frame; max_side: downscale so the
    longer side is at most this (0 = keep); still_frames: frames made from each still image; seed: master seed."""

    max_frames: int = 0
    stride: int = 1
    max_side: int = 0
    still_frames: int = 5
    seed: int = 0
    ranges: SynthRanges = SynthRanges()


def _clip_frames(path: Path, opts: SynthConfig) -> Iterator[np.ndarray]:
    """Frames of a video file or frame folder, strided, capped and resized."""
    if path.is_dir():
        source = (read_frame(p) for p in list_frames(path))
    else:
        source = (rgb for rgb, _ in read_video(path))
    strided = itertools.islice(source, 0, None, opts.stride)
    for rgb in itertools.islice(strided, opts.max_frames or None):
        yield downscale(rgb, opts.max_side)


def _sources(inputs: list[Path], stills: bool) -> list[tuple[str, Path, bool]]:
    """(sequence name, path, is_still) for every input; folders of stills expand to one sequence per image."""
    out = []
    for path in inputs:
        if not path.exists():
            raise UserInputError(f"input not found: {path}")
        if stills and path.is_dir():
            out += [(p.stem, p, True) for p in list_frames(path)]
        else:
            out.append((path.stem if path.is_file() else path.name, path,
                        path.is_file() and path.suffix.lower() in FRAME_EXTENSIONS))
    names = [n for n, _, _ in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserInputError(f"two inputs would make the same sequence name: {', '.join(dupes)}")
    return out


def synthesize(inputs: list[str | Path], out_dir: str | Path, opts: SynthConfig = SynthConfig(),
               stills: bool = False, progress: bool = True) -> list[str]:
    """Write paired low/high sequences for every input; return the sequence names written."""
    out_dir = Path(out_dir)
    master = np.random.default_rng(opts.seed)
    written = []
    for name, path, is_still in tqdm(_sources([Path(p) for p in inputs], stills), unit="seq", disable=not progress):
        params = draw_params(master, opts.ranges)
        motion_rng = np.random.default_rng(params.seed + 1)
        for sub in ("low", "high"):
            if (out_dir / sub / name).exists():
                raise UserInputError(f"{out_dir / sub / name} exists; choose another output folder")
        if is_still:  # a still made into a short clip by a random smooth camera motion (the training data's motion)
            frames = still_to_clip(downscale(read_frame(path), opts.max_side), opts.still_frames, motion_rng)
        else:
            frames = _clip_frames(path, opts)
        with atomic_output(out_dir / "high" / name, is_dir=True) as high, \
                atomic_output(out_dir / "low" / name, is_dir=True) as low:
            noise = np.random.default_rng(params.seed)  # one camera per sequence; the noise differs per frame
            count = 0
            for count, rgb in enumerate(frames, 1):
                write_frame(high / f"{count - 1:05d}.png", rgb)
                write_frame(low / f"{count - 1:05d}.png", darken(rgb, params, noise))
            if count == 0:
                raise UserInputError(f"{path}: no frames to synthesise from")
        write_sidecar(out_dir / "meta" / f"{name}.json", params, str(path), count)
        written.append(name)
    return written
