"""The training dataset: frame pairs with their ground truth and ground-truth correspondences.

Each item is one frame ``t`` of one sequence with a partner frame drawn as the official code does
(uniform in ``{t - radius, ..., t + radius}``, clamped to the sequence), or one static image pair moved by
random smooth motion (:mod:`llve.data.motion`). Frames are resized to ``size`` and/or randomly cropped, then
flipped/transposed — identically for both frames, their ground truth, flows and certainties.

An item is a :class:`TrainItem`; :func:`collate` stacks items into the :class:`TrainBatch` that training and
the losses (:func:`llve.train.losses.stcd_loss`) take.

Sources with ``synthesize`` get new low-light frames for every item (a random camera, the same for both frames,
independent noise), and ``sampling.reexpose`` re-exposes the ground truth of training items so that one network
learns every target brightness (:func:`llve.data.camera.reexpose`).

Randomness comes from ``numpy.random.default_rng((seed, epoch, index))``, so an item depends only on those
three numbers — not on worker count, rank or what was drawn before — which makes resumed runs bit-for-bit equal.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from llve.core.errors import UserInputError
from llve.core.image import mean_luma_unit
from llve.data.camera import SynthRanges, darken_frames, draw_params, reexpose
from llve.data.motion import MotionConfig, random_motion
from llve.data.sequences import PairedSequence
from llve.data.sources import SourceConfig, load_frame, resolve
from llve.flow import identity_correspondence
from llve.flow.cache import CorrespondenceCache
from llve.flow.warp import inside
from llve.media.frames import resize_to


@dataclass(frozen=True)
class SamplingConfig:
    """Args: size: resize every frame to (width, height) first (official SDSD: [960, 512]); crop: then cut a
    random (width, height) window (the same for both frames); radius: partner frame distance (official 1);
    hflip, vflip, transpose: random augmentations (transpose + flips give all 90-degree rotations);
    motion: random motion for static image pairs; reexpose: (min, max) linear gain, drawn log-uniformly, that
    re-exposes the ground truth of a training item with probability ``reexpose_prob`` (None: never); camera: the
    ranges the low-light camera of ``synthesize`` sources is drawn from (tone curve and video codec included)."""

    size: tuple[int, int] | None = None
    crop: tuple[int, int] | None = None
    radius: int = 1
    hflip: bool = True
    vflip: bool = True
    transpose: bool = False
    motion: MotionConfig = field(default_factory=MotionConfig)
    reexpose: tuple[float, float] | None = None
    reexpose_prob: float = 0.7
    camera: SynthRanges = field(default_factory=SynthRanges)

    def __post_init__(self):
        if self.radius < 0:
            raise ValueError("radius must be >= 0")
        for name, pair in (("size", self.size), ("crop", self.crop)):
            if pair is not None and min(pair) < 1:
                raise ValueError(f"{name} must be at least 1x1 pixels (got {pair[0]}x{pair[1]})")
        frame = self.crop or self.size
        if self.transpose and (frame is None or frame[0] != frame[1]):
            raise ValueError("transpose needs square frames (a square crop or size): a batch mixes both orientations")


@dataclass
class _PairTensors:
    """Args (float32 tensors; a batch adds a first dimension B): low1, low2, gt1, gt2: (3, H, W) in [0, 1];
    flow12, flow21: (2, H, W) pixel displacements (x, y); cert1, cert2: (1, H, W) certainties in [0, 1];
    exposure1, exposure2: () the mean luma of each ground truth, the brightness an exposure-controlled
    network is asked for."""

    low1: torch.Tensor
    low2: torch.Tensor
    gt1: torch.Tensor
    gt2: torch.Tensor
    flow12: torch.Tensor
    flow21: torch.Tensor
    cert1: torch.Tensor
    cert2: torch.Tensor
    exposure1: torch.Tensor
    exposure2: torch.Tensor


@dataclass
class TrainItem(_PairTensors):
    """One training pair (tensors as in :class:`_PairTensors`), its sequence name and its dataset index."""

    seq: str
    index: int


@dataclass
class TrainBatch(_PairTensors):
    """Items stacked by :func:`collate`: each tensor (B, ...), ``seq`` the B names, ``index`` (B,)."""

    seq: list[str]
    index: torch.Tensor

    def to(self, device: torch.device | str, non_blocking: bool = False) -> TrainBatch:
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> TrainBatch:  # what DataLoader(pin_memory=True) calls on a custom batch
        return self._map(torch.Tensor.pin_memory)

    def _map(self, fn) -> TrainBatch:
        return replace(self, **{f.name: fn(getattr(self, f.name)) for f in fields(self)
                                if isinstance(getattr(self, f.name), torch.Tensor)})


@dataclass(frozen=True)
class Pair:
    """One sample as numpy arrays, before conversion to a :class:`TrainItem`: images HxWx3 uint8 (low1, low2,
    gt1, gt2), flows HxWx2 (flow12, flow21), certainties HxW (cert1, cert2)."""

    low1: np.ndarray
    low2: np.ndarray
    gt1: np.ndarray
    gt2: np.ndarray
    flow12: np.ndarray
    flow21: np.ndarray
    cert1: np.ndarray
    cert2: np.ndarray

    def map(self, fn: Callable[[str, np.ndarray], np.ndarray]) -> Pair:
        """Every array replaced by ``fn(field name, array)``."""
        return Pair(**{f.name: fn(f.name, getattr(self, f.name)) for f in fields(self)})


def augment(pair: Pair, hflip: bool, vflip: bool, transpose: bool) -> Pair:
    """Flip/transpose every array of a pair the same way, transforming flow vectors along with their grids.

    A horizontal flip maps pixel x to W-1-x, so a displacement dx becomes -dx; a vertical flip negates dy;
    a transpose swaps the axes and therefore the (dx, dy) components.
    """
    def move(name: str, value: np.ndarray) -> np.ndarray:
        if hflip:
            value = value[:, ::-1]
        if vflip:
            value = value[::-1]
        if transpose:
            value = value.swapaxes(0, 1)
        if name.startswith("flow"):
            value = value * np.float32([-1 if hflip else 1, -1 if vflip else 1])
            if transpose:
                value = value[..., ::-1]
        return np.ascontiguousarray(value)
    return pair.map(move)


def crop_pair(pair: Pair, x: int, y: int, w: int, h: int) -> Pair:
    """Cut the same window from every array; a correspondence whose target leaves the window loses certainty."""
    out = pair.map(lambda _, v: np.ascontiguousarray(v[y:y + h, x:x + w]))
    return replace(out, cert1=out.cert1 * inside(out.flow12), cert2=out.cert2 * inside(out.flow21))


def _to_tensors(pair: Pair, seq: str, index: int) -> TrainItem:
    image = lambda a: torch.from_numpy(a).permute(2, 0, 1).float()  # noqa: E731
    return TrainItem(low1=image(pair.low1) / 255, low2=image(pair.low2) / 255, gt1=image(pair.gt1) / 255,
                     gt2=image(pair.gt2) / 255, flow12=image(pair.flow12), flow21=image(pair.flow21),
                     cert1=torch.from_numpy(pair.cert1)[None].float(), cert2=torch.from_numpy(pair.cert2)[None].float(),
                     exposure1=torch.tensor(mean_luma_unit(pair.gt1), dtype=torch.float32),
                     exposure2=torch.tensor(mean_luma_unit(pair.gt2), dtype=torch.float32), seq=seq, index=index)


class PairDataset(Dataset):
    """Frame pairs from video sequences and static image pairs of one or more ``sources``. Args: split: their
    ``train`` part (random partner, crop and augmentation) or their held-out ``test`` part (partner t+1, centre crop,
    no flips); correspondences: for video sources; seed: of the per-item random generator; cache_root: where paired
    videos are decoded."""

    def __init__(self, sources: list[SourceConfig], sampling: SamplingConfig, correspondences: CorrespondenceCache,
                 split: Literal["train", "test"] = "train", seed: int = 0, cache_root: str | Path = "cache"):
        self.sampling, self.correspondences, self.split, self.seed = sampling, correspondences, split, seed
        self.epoch = 0
        self.sources = list(sources)
        self.entries: list[tuple[int, object, int]] = []  # (source index, sequence or image pair, frame index)
        for s, src in enumerate(self.sources):
            for unit in resolve(src, split, Path(cache_root)):
                frames = len(unit.low) if isinstance(unit, PairedSequence) else 1
                self.entries.extend((s, unit, t) for t in range(frames))
        if split == "train" and not self.entries:
            raise UserInputError("the training data is empty (every sequence is in a test list, or no sources)")

    def set_epoch(self, epoch: int) -> None:
        """Select the random draws of an epoch (call before creating the epoch's DataLoader iterator)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> TrainItem:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        s, unit, t = self.entries[index]
        if isinstance(unit, PairedSequence):
            pair, name = self._video_pair(self.sources[s], unit, t, rng), unit.name
        else:
            pair, name = self._image_pair(self.sources[s], unit, rng), unit[0]
        if self.sources[s].synthesize:  # new dark frames from the ground truth: one camera, noise per frame
            camera = draw_params(rng, self.sampling.camera)
            low1, low2 = darken_frames([pair.gt1, pair.gt2], camera, np.random.default_rng(camera.seed))
            pair = replace(pair, low1=low1, low2=low2)
        cfg = self.sampling
        if self.split == "train" and cfg.reexpose and rng.random() < cfg.reexpose_prob:
            gain = float(np.exp(rng.uniform(*np.log(cfg.reexpose))))
            pair = replace(pair, gt1=reexpose(pair.gt1, gain), gt2=reexpose(pair.gt2, gain))
        if self.split == "train":
            flips = rng.random(3) < 0.5
            pair = augment(pair, cfg.hflip and flips[0], cfg.vflip and flips[1], cfg.transpose and flips[2])
        return _to_tensors(pair, name, index)

    def _load(self, src: SourceConfig, path: Path) -> np.ndarray:
        return resize_to(load_frame(path, src.npy_bgr), self.sampling.size)

    def _window(self, h: int, w: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        cw, ch = self.sampling.crop or (w, h)
        if cw > w or ch > h:
            raise UserInputError(f"crop {cw}x{ch} is larger than the frames ({w}x{h})")
        if self.split == "train":
            return int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1)), cw, ch
        return (w - cw) // 2, (h - ch) // 2, cw, ch

    def _video_pair(self, src: SourceConfig, seq: PairedSequence, t: int, rng: np.random.Generator) -> Pair:
        last, r = len(seq.low) - 1, self.sampling.radius
        partner = int(rng.integers(max(t - r, 0), min(t + r, last) + 1)) if self.split == "train" else min(t + 1, last)
        gt1, gt2 = self._load(src, seq.gt_for(t)), self._load(src, seq.gt_for(partner))
        h, w = gt1.shape[:2]
        if seq.gt_for(t) == seq.gt_for(partner):  # same frame, or SMID's single ground truth: identity
            corr = identity_correspondence(h, w)
        else:
            corr = self.correspondences.get(src.key, seq.name, t, partner, gt1, gt2)
        pair = Pair(low1=self._load(src, seq.low[t]), low2=self._load(src, seq.low[partner]), gt1=gt1, gt2=gt2,
                    **corr._asdict())
        if pair.low1.shape != gt1.shape or pair.low2.shape != gt2.shape:
            raise UserInputError(f"{seq.name}: low-light frame {seq.low[t].name} is {pair.low1.shape[1::-1]}, "
                                 f"its ground truth {gt1.shape[1::-1]} (set data.sampling.size to resize both)")
        return crop_pair(pair, *self._window(h, w, rng))

    def _image_pair(self, src: SourceConfig, unit: tuple[str, Path, Path], rng: np.random.Generator) -> Pair:
        _, low_path, high_path = unit
        low, gt = self._load(src, low_path), self._load(src, high_path)
        if low.shape != gt.shape:
            raise UserInputError(f"{low_path} and {high_path} differ in size ({low.shape} vs {gt.shape})")
        h, w = gt.shape[:2]
        cw, ch = self.sampling.crop or (w, h)
        if self.split != "train":  # fixed motion per image, so validation numbers are comparable across runs
            rng = np.random.default_rng((self.seed, 0, zlib.crc32(unit[0].encode())))
        if cw > w or ch > h:
            raise UserInputError(f"crop {cw}x{ch} is larger than the image {low_path} ({w}x{h})")
        m = random_motion(low, gt, (cw, ch), self.sampling.motion, rng)
        return Pair(low1=m.low1, low2=m.low2, gt1=m.gt1, gt2=m.gt2, **m.corr._asdict())


def collate(items: list[TrainItem]) -> TrainBatch:
    """Stack the items' tensors; ``seq`` becomes a list of names and ``index`` a tensor."""
    tensors = {f.name: torch.stack([getattr(it, f.name) for it in items]) for f in fields(_PairTensors)}
    return TrainBatch(**tensors, seq=[it.seq for it in items], index=torch.tensor([it.index for it in items]))
