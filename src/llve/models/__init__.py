"""Networks. ``ARCHITECTURES`` maps a name to (network class, config class); both are plain, importable code.

Every network takes two frames, shares an encoder, and returns the decomposition ``Y = R * S``. The streaming
enhancer relies on three methods: ``encode(x)``, ``decompose_first(f1, f2) -> Decomposition`` and
``forward(x1, x2) -> PairOutput``, plus the attribute ``size_multiple``.
"""
from __future__ import annotations

from llve.core.errors import UserInputError
from llve.models.fast import FastFeatures, FastSTCD, FastSTCDConfig
from llve.models.guided import GuidedSTCD, GuidedSTCDConfig
from llve.models.stcd import STCD, Decomposition, Features, PairOutput, STCDConfig

ARCHITECTURES: dict[str, tuple[type, type]] = {
    "official": (STCD, STCDConfig),
    "fast": (FastSTCD, FastSTCDConfig),
    "guided": (GuidedSTCD, GuidedSTCDConfig),
}


def build_model(arch: str = "official", **config):
    """Build a network by architecture name with config keyword arguments (unknown keys are errors)."""
    if arch not in ARCHITECTURES:
        raise UserInputError(f"unknown model '{arch}' (choose from {', '.join(sorted(ARCHITECTURES))})")
    net_cls, cfg_cls = ARCHITECTURES[arch]
    try:
        cfg = cfg_cls(**config)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"bad config for model '{arch}': {exc}") from None
    return net_cls(cfg)


def arch_name(model) -> str:
    """The registry name of a built network (inverse of :func:`build_model`)."""
    for name, (net_cls, _) in ARCHITECTURES.items():
        if type(model) is net_cls:
            return name
    raise KeyError(type(model).__name__)


__all__ = ["ARCHITECTURES", "STCD", "STCDConfig", "FastSTCD", "FastSTCDConfig", "FastFeatures", "GuidedSTCD",
           "GuidedSTCDConfig", "Decomposition",
           "Features", "PairOutput", "build_model", "arch_name"]
