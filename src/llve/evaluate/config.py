"""What ``llve test`` runs: :class:`EvalConfig`, read from YAML by :func:`load_eval_config`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from llve.core.config import from_dict, load_yaml
from llve.data.eval_clips import DataConfig
from llve.stream.options import StreamOptions

STREAM_KEYS = ("exposure", "temporal_filter", "spatial_filter", "denoise")  # top-level keys of the older layout


@dataclass(frozen=True)
class EvalConfig:
    """Args: data: which frames and how (see DataConfig); method: ``stcd`` (the network in ``weights``, any llve
    architecture; default: the bundled weights) or a baseline name; device: auto|cpu|cuda[:N]; temporal: compute
    warping error and flicker; panels: how many frames the report shows as input | output | R | S | ground truth;
    gt_exposure: each sequence at its ground truth's mean brightness (for the network's exposure control, and the
    target of ``gamma``/``gamma+nlm``; other methods are scaled to it), which scores restoration at equal
    brightness instead of the choice of brightness; stream: how the network streams (its pairing is the
    protocol's: ``next`` = min(t+1, last), the official rule; ``self``: each frame alone, the frame-by-frame
    reference), with ``stream.exposure`` the network's brightness unless ``gt_exposure``."""

    data: DataConfig
    method: Literal["stcd", "identity", "gamma", "clahe", "gamma+nlm"] = "stcd"
    weights: str | None = None
    device: str = "auto"
    temporal: bool = True
    panels: int = 4
    gt_exposure: bool = False
    stream: StreamOptions = StreamOptions()

    def __post_init__(self):
        if self.panels < 0:
            raise ValueError(f"panels must be >= 0, got {self.panels}")


def upgrade_layout(data: dict) -> dict:
    """A config of the older layout (stream settings at the top level, ``exposure: gt``, ``fp16``,
    ``data.pairing``) in the current one; a current config is returned as it is."""
    data = dict(data)
    stream = dict(data.get("stream") or {})
    for key in STREAM_KEYS:
        if key in data:
            stream[key] = data.pop(key)
    if "fp16" in data:
        stream["precision"] = "fp16" if data.pop("fp16") else "fp32"
    if isinstance(data.get("data"), dict) and "pairing" in data["data"]:
        data["data"] = dict(data["data"])
        stream["pairing"] = data["data"].pop("pairing")
    if stream.get("exposure") == "gt":
        data["gt_exposure"] = True
        del stream["exposure"]
    if stream:
        data["stream"] = stream
    return data


def load_eval_config(path: str | Path) -> EvalConfig:
    """The evaluation config in the YAML file ``path`` (either layout)."""
    return from_dict(EvalConfig, upgrade_layout(load_yaml(path)))
