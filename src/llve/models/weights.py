"""Load and save network weights: official ``.pth`` state_dicts, our ``.safetensors``, training checkpoints.

A ``.safetensors`` file written by :func:`save_model` carries the architecture name and its config in its
metadata, so the network can be rebuilt from the file alone.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from torch import nn

from llve.core.atomic import atomic_output
from llve.core.errors import UserInputError
from llve.models import ARCHITECTURES, arch_name, build_model


def save_model(model: nn.Module, path: str | Path) -> None:
    """Write the weights as safetensors with ``arch`` and ``config`` metadata (atomically)."""
    from safetensors.torch import save_file

    meta = {"arch": arch_name(model), "config": json.dumps(dataclasses.asdict(model.cfg))}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], str | None, dict]:
    """Return (state_dict, arch or None, config) from any supported weights file."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # safetensors raises several unrelated types for a bad file
            raise UserInputError(f"cannot read weights {path}: {exc}") from None
        arch = meta.get("arch")
        try:
            config = json.loads(meta.get("config", "{}"))
        except json.JSONDecodeError as exc:
            raise UserInputError(f"weights {path}: malformed 'config' metadata ({exc})") from None
        if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
            raise UserInputError(f"weights {path}: malformed 'config' metadata "
                                 f"(expected a mapping, got {config!r:.60})")
        return state, arch, _with_legacy_defaults(arch, config)
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserInputError(f"cannot read weights {path}: not a PyTorch state_dict file "
                             f"({type(exc).__name__})") from None
    arch, config = None, {}
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):  # an llve training checkpoint
        arch, config, obj = obj.get("arch"), obj.get("model_config", {}), obj["model"]
        if not isinstance(config, dict) or (arch is not None and not isinstance(arch, str)):
            raise UserInputError(f"checkpoint {path}: malformed 'arch'/'model_config' entries")
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()) or not obj:
        raise UserInputError(f"weights {path} do not hold a state_dict (a dict of tensors)")
    state = {k.removeprefix("module."): v for k, v in obj.items()}
    return state, arch, _with_legacy_defaults(arch, config)


# Config fields added after weights were first published, with the value that reproduces those older networks.
_LEGACY_DEFAULTS = {"fast": {"refine": 0}}


def _with_legacy_defaults(arch: str | None, config: dict) -> dict:
    """Weights saved before a config field existed were built without it: fill in the value that matches them."""
    return {**_LEGACY_DEFAULTS.get(arch, {}), **config} if config else config


def network_of(path: str | Path, state: dict[str, torch.Tensor], arch: str | None, config: dict
               ) -> tuple[str, dict]:
    """The architecture and config that the weights ``state`` (read from ``path``) were saved from."""
    if arch is None:  # official checkpoints carry no metadata: recognise them by their keys, the width by a tensor
        if "conv_first_1.weight" not in state or "trans2.attn.qkv2.weight" not in state:
            raise UserInputError("weights have no llve metadata and do not look like an official STCD checkpoint "
                                 f"(first keys: {', '.join(list(state)[:4])})")
        arch, config = "official", {"width": int(state["conv_first_1.weight"].shape[0])}
    if arch not in ARCHITECTURES:
        raise UserInputError(f"weights {path} are for unknown model '{arch}'")
    return arch, config


def load_model(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Build the right network for a weights file and load it strictly; errors name the offending keys."""
    state, arch, config = read_weights(path)
    arch, config = network_of(path, state, arch, config)
    model = build_model(arch, **config)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''} ({len(keys)})"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise UserInputError(f"weights {path} do not fit model '{arch}': " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
