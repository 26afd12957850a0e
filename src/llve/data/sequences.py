"""Paired low-light / ground-truth sequences in the standard on-disk layouts (SDSD, SMID, generic folders).

A layout function returns :class:`PairedSequence` objects that only list files; frames are read on demand
with :func:`llve.media.frames.read_frame`. Training datasets and the evaluation protocol both start here.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llve.core.errors import UserInputError
from llve.media.frames import list_frames


@dataclass(frozen=True)
class PairedSequence:
    """Low-light frames and their ground truth. SMID has one ground truth for all frames of a sequence."""

    name: str
    low: tuple[Path, ...]
    gt: tuple[Path, ...]

    def gt_for(self, index: int) -> Path:
        return self.gt[0] if len(self.gt) == 1 else self.gt[index]


def select_names(present: Iterable[str], names: Sequence[str] | None, exclude: Sequence[str], what: str,
                 where: Path) -> list[str]:
    """``names``, each of which must be ``present`` (else an error names the missing ones), or, without ``names``,
    every present name not in ``exclude``: the one rule of every dataset layout's test / training split."""
    present = list(present)
    if names is None:
        return [n for n in present if n not in set(exclude)]
    missing = [n for n in names if n not in present]
    if missing:
        raise UserInputError(f"{what} not found under {where}: {', '.join(missing)}")
    return list(names)


def _paired(root: str | Path, low_dir: str, gt_dir: str, names: Sequence[str] | None, exclude: Sequence[str],
            single_gt: bool = False) -> list[PairedSequence]:
    """The selected sequences of ``ROOT/<low_dir>/<seq>`` with their ground truth in ``ROOT/<gt_dir>/<seq>``."""
    low_root, gt_root = Path(root) / low_dir, Path(root) / gt_dir
    if not low_root.is_dir():
        raise UserInputError(f"dataset folder not found: {low_root}")
    present = sorted(p.name for p in low_root.iterdir() if p.is_dir())
    out, bad = [], []
    for name in select_names(present, names, exclude, "sequences", low_root):
        low, gt = list_frames(low_root / name), list_frames(gt_root / name)
        if single_gt:
            gt = gt[:1]
        elif len(low) != len(gt):
            bad.append(f"{name} ({len(low)} low vs {len(gt)} ground-truth frames)")
            continue
        out.append(PairedSequence(name, tuple(low), tuple(gt)))
    if bad:
        raise UserInputError("frame counts differ in: " + "; ".join(bad))
    return out


def sdsd_sequences(root: str | Path, names: Sequence[str] | None = None,
                   exclude: Sequence[str] = ()) -> list[PairedSequence]:
    """SDSD: ``ROOT/input/<seq>/*.npy`` and ``ROOT/GT/<seq>/*.npy``, one ground truth per frame."""
    return _paired(root, "input", "GT", names, exclude)


def smid_sequences(root: str | Path, names: Sequence[str] | None = None,
                   exclude: Sequence[str] = ()) -> list[PairedSequence]:
    """SMID: ``ROOT/SMID_LQ_np/<seq>/*.npy``, one long exposure per sequence in ``ROOT/SMID_Long_np/<seq>/``."""
    return _paired(root, "SMID_LQ_np", "SMID_Long_np", names, exclude, single_gt=True)


def folder_sequences(root: str | Path, names: Sequence[str] | None = None,
                     exclude: Sequence[str] = (), low: str = "low", high: str = "high") -> list[PairedSequence]:
    """Generic: ``ROOT/low/<seq>/<frames>`` and ``ROOT/high/<seq>/<frames>`` (png/jpg/bmp/npy)."""
    return _paired(root, low, high, names, exclude)
