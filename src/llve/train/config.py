"""Training configuration: YAML -> typed frozen dataclasses, and translation of official STCD option files.

Our format has five sections (``model``, ``data``, ``train``, ``log`` and the run ``name``/``out_dir``);
see ``configs/*.yaml`` and docs/training.md. An official option file (``options/train/SDSD_indoor.yml``:
``datasets / network_G / train / logger / path``) is recognised and translated; keys with no meaning here
are listed in a message rather than silently dropped.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llve.core.config import from_dict, load_yaml
from llve.core.errors import UserInputError
from llve.data.datasets import SamplingConfig
from llve.data.sources import SourceConfig
from llve.flow import CorrespondenceConfig
from llve.train.losses import LossConfig
from llve.train.schedule import ScheduleConfig


def _at_least(section, low: int, *names: str) -> None:
    """Counts and intervals below ``low`` would fail later with a traceback deep in the loop: say so at load."""
    for name in names:
        if getattr(section, name) < low:
            raise ValueError(f"{name} must be at least {low} (got {getattr(section, name)})")


@dataclass(frozen=True)
class ModelConfig:
    """Args: arch: registry name (``llve.models.ARCHITECTURES``); config: that architecture's config fields;
    weights: optional weights file to start from (official .pth, .safetensors or a checkpoint)."""

    arch: str = "official"
    config: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None


@dataclass(frozen=True)
class TrainDataConfig:
    """Args: train: the datasets (each has its own held-out ``test`` list, used for validation);
    batch_size: pairs per process per step; workers: DataLoader processes per training process;
    val_items: validate on at most this many held-out pairs (0: all)."""

    train: tuple[SourceConfig, ...]
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    correspondence: CorrespondenceConfig = field(default_factory=CorrespondenceConfig)
    batch_size: int = 4
    workers: int = 2
    val_items: int = 0

    def __post_init__(self):
        _at_least(self, 1, "batch_size")
        _at_least(self, 0, "workers", "val_items")


@dataclass(frozen=True)
class LoopConfig:
    """Args: iterations: optimisation steps; seed; device: auto | cpu | cuda | cuda:N; grad_clip: max gradient
    norm (None: off); threads: CPU threads per process (None: PyTorch's default)."""

    iterations: int
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    loss: LossConfig = field(default_factory=LossConfig)
    optim: ScheduleConfig = field(default_factory=ScheduleConfig)
    grad_clip: float | None = None

    def __post_init__(self):
        _at_least(self, 0, "iterations")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1 (got {self.threads})")


@dataclass(frozen=True)
class LogConfig:
    """Every-N-iterations intervals (0: never) and how many checkpoints to keep."""

    print_every: int = 100
    scalars_every: int = 10
    images_every: int = 500
    val_every: int = 500
    checkpoint_every: int = 500
    keep_last: int = 3

    def __post_init__(self):
        _at_least(self, 0, "print_every", "scalars_every", "images_every", "val_every", "checkpoint_every", "keep_last")


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run; the run folder is ``out_dir/name``."""

    name: str
    data: TrainDataConfig
    train: LoopConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    log: LogConfig = field(default_factory=LogConfig)
    out_dir: str = "runs"


def _source_from_official(ds: dict) -> dict:
    lq, gt = Path(str(ds.get("dataroot_LQ", ""))), Path(str(ds.get("dataroot_GT", "")))
    if not ds.get("dataroot_LQ") or not ds.get("dataroot_GT"):
        raise UserInputError("official option file: datasets.train needs dataroot_LQ and dataroot_GT")
    test = [t.strip() for t in str(ds.get("testing_dir") or "").split(",") if t.strip()]
    if lq.parent != gt.parent:
        raise UserInputError(f"official option file: dataroot_LQ ({lq}) and dataroot_GT ({gt}) must share a folder")
    kind = {("input", "GT"): "sdsd", ("SMID_LQ_np", "SMID_Long_np"): "smid"}.get((lq.name, gt.name))
    if kind is None:
        return {"kind": "folders", "root": str(lq.parent), "low": lq.name, "high": gt.name, "test": test}
    return {"kind": kind, "root": str(lq.parent), "test": test}


Take = Callable[..., Any]  # take(section, key, default): an official option's value, marked as read


def translate_official(opt: dict) -> tuple[dict, list[str]]:
    """Map an official option file onto our sections; return (our config dict, ignored dotted keys)."""
    datasets = opt.get("datasets") or {}
    tr = datasets.get("train") or {}
    if not tr:
        raise UserInputError("official option file has no datasets.train section")
    sections = {"datasets.train": tr} | {name: opt.get(name) or {} for name in ("network_G", "train", "logger", "path")}
    used: set[str] = {"name"}

    def take(where: str, key: str, default=None):
        used.add(f"{where}.{key}")
        return sections[where].get(key, default)

    _check_official(take)
    ours = {
        "name": str(opt.get("name", "official")),
        "model": {"arch": "official", "config": {"width": int(take("network_G", "nf", 64))},
                  "weights": take("path", "pretrain_model_G")},
        "data": _official_data(tr, take),
        "train": _official_train(take),
        "log": {"print_every": int(float(take("logger", "print_freq", 100))),
                "val_every": int(float(take("train", "val_freq", 5000))),
                "checkpoint_every": int(float(take("logger", "save_checkpoint_freq", 5000)))},
    }

    def leaves(d: dict, where: str) -> Iterator[str]:
        for k, v in d.items():
            yield from leaves(v, f"{where}{k}.") if isinstance(v, dict) else [f"{where}{k}"]

    read = {k: v for k, v in opt.items() if k != "datasets"} | {"datasets": {"train": tr}}  # not datasets.val
    ignored = [key for key in leaves(read, "") if key not in used]
    if "val" in datasets:
        ignored.append("datasets.val (validation uses the training set's testing_dir sequences)")
    return ours, ignored


def _check_official(take: Take) -> None:
    """The official choices this code does not implement are errors, not silent differences."""
    which = take("network_G", "which_model_G", "low_light_transformer42")
    if which != "low_light_transformer42":
        raise UserInputError(f"official option file: network_G.which_model_G '{which}' is not the STCD network")
    scheme = take("train", "lr_scheme", "CosineAnnealingLR_Restart")
    if scheme != "CosineAnnealingLR_Restart":
        raise UserInputError(f"official option file: train.lr_scheme '{scheme}' is not supported "
                             "(only CosineAnnealingLR_Restart)")
    criterion = take("train", "pixel_criterion", "cb")
    if criterion != "cb":
        raise UserInputError(f"official option file: train.pixel_criterion '{criterion}' is not supported (only cb)")


def _official_data(tr: dict, take: Take) -> dict:
    for key in ("dataroot_LQ", "dataroot_GT", "testing_dir"):
        take("datasets.train", key)
    size = take("datasets.train", "train_size")
    return {
        "train": [_source_from_official(tr)],
        # The official SDSD loader resizes to train_size and applies no crop and no flips
        # (GT_size, use_flip and use_rot are never read by it).
        "sampling": {"size": list(size) if size else None, "hflip": False, "vflip": False},
        "batch_size": int(take("datasets.train", "batch_size", 4)),
        "workers": int(take("datasets.train", "n_workers", 2)),
    }


def _official_train(take: Take) -> dict:
    iterations = int(float(take("train", "niter", 200000)))
    restarts = [int(r) for r in take("train", "restarts", []) or [] if int(r) < iterations]  # later never happen
    weights = [float(w) for w in take("train", "restart_weights") or []][:len(restarts)]
    warmup = int(take("train", "warmup_iter", -1) or -1)
    pixel_weight = float(take("train", "pixel_weight", 1.0))
    return {
        "iterations": iterations,
        "seed": int(take("train", "manual_seed", 0) or 0),
        # Upstream multiplies the smoothness term by pixel_weight as well (its weight is 0.1 * pixel_weight).
        "loss": {"pixel": pixel_weight, "smooth": 0.1 * pixel_weight, "reduction": "sum"},
        "optim": {"lr": float(take("train", "lr_G", 1e-4)),
                  "betas": [float(take("train", "beta1", 0.9)), float(take("train", "beta2", 0.99))],
                  "weight_decay": float(take("train", "weight_decay_G", 0) or 0),
                  "periods": [int(p) for p in take("train", "T_period", [iterations])][:len(restarts) + 1],
                  "restarts": restarts, "restart_weights": weights,
                  "eta_min": float(take("train", "eta_min", 1e-7)), "warmup": max(warmup, 0)},
    }


def load_config(path: str | Path, notify=print) -> TrainConfig:
    """Read a training config (ours or an official option file) into a validated :class:`TrainConfig`."""
    data = load_yaml(path)
    if "network_G" in data or "datasets" in data:  # an official option file
        data, ignored = translate_official(data)
        notify(f"llve: translated official option file {path}; ignored keys: {', '.join(ignored) or 'none'}")
        notify("llve: the official code matched frames with DKMv3_indoor; this run uses correspondence backend "
               "'dis' (set data.correspondence.backend: dkm with its weights to match)")
    return from_dict(TrainConfig, data)
