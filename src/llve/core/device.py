"""Where tensors run: the one device rule of enhance, test, bench and train, and waiting for queued GPU work.

The inference settings themselves (precision, channels-last, compilation) are
:class:`llve.stream.options.StreamOptions`.
"""
from __future__ import annotations

import torch

from llve.core.errors import UserInputError


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` picks this process's GPU (``cuda:LOCAL_RANK``) when there is one, else the CPU; an unavailable
    or unknown device is a user error, not a traceback. The one device rule of enhance, test, bench and train."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserInputError(f"unknown device '{name}' (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError(f"device '{name}' requested, but no CUDA GPU is available", setting="device")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserInputError(f"device '{name}' requested, but this PyTorch has no Apple GPU (MPS) support",
                             setting="device")
    if device.type not in ("cpu", "cuda", "mps"):
        raise UserInputError(f"device '{name}' is not supported (use auto, cpu, cuda or cuda:N)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserInputError(f"device '{name}' requested, but there are only {torch.cuda.device_count()} CUDA GPUs")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings measure the computation, not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
