"""Inference fast paths shared by every network: the settings that make a trained model run at the hardware's limit.

Measured on a 2-core CPU (``llve bench``, docs/speed.md): channels-last memory layout lets oneDNN pick its
blocked convolution kernels (both networks stream about 1.3x faster with it), ``torch.inference_mode``
drops autograd bookkeeping, and streaming with cached encoder features encodes every frame once instead of twice.
On CUDA, fp16/bf16 autocast uses the tensor cores. ``torch.compile`` is optional because its first call
compiles for tens of seconds, which only pays off on long videos.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Literal

import torch
from torch import nn

from llve.errors import UserInputError

Precision = Literal["fp32", "fp16", "bf16"]
_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class RuntimeOptions:
    """Args:
        channels_last: NHWC memory layout for weights and frames (faster convolutions on CPU and GPU).
        precision: ``fp32``, or ``fp16``/``bf16`` autocast (CUDA only; CPUs without AMX gain nothing from it).
        compile: wrap ``encode`` and ``decompose_first`` in ``torch.compile``.
    """

    channels_last: bool = True
    precision: Precision = "fp32"
    compile: bool = False


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
        raise UserInputError(f"device '{name}' requested, but no CUDA GPU is available (use --device cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserInputError(f"device '{name}' requested, but this PyTorch has no Apple GPU (MPS) support "
                             "(use --device cpu)")
    if device.type not in ("cpu", "cuda", "mps"):
        raise UserInputError(f"device '{name}' is not supported (use auto, cpu, cuda or cuda:N)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserInputError(f"device '{name}' requested, but there are only {torch.cuda.device_count()} CUDA GPUs")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def prepare_model(model: nn.Module, device: torch.device, options: RuntimeOptions = RuntimeOptions()) -> nn.Module:
    """Move a network to ``device`` in eval mode with the memory layout (and compilation) of ``options``."""
    if options.precision != "fp32" and device.type != "cuda":
        raise UserInputError(f"{options.precision} inference needs a CUDA device (got {device})")
    model = model.eval().to(device)
    if options.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if options.compile:
        # Compile the two streaming methods (not forward): those are what the enhancer calls per frame.
        model.encode = torch.compile(model.encode, dynamic=False)
        model.decompose_first = torch.compile(model.decompose_first, dynamic=False)
    return model


def prepare_frame(x: torch.Tensor, device: torch.device, options: RuntimeOptions = RuntimeOptions()) -> torch.Tensor:
    """A (B, 3, H, W) float frame on ``device`` in the layout ``prepare_model`` chose."""
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if options.channels_last else x


@contextlib.contextmanager
def inference_context(device: torch.device, options: RuntimeOptions = RuntimeOptions()) -> Iterator[None]:
    """``torch.inference_mode`` plus, for fp16/bf16, CUDA autocast (outputs are cast back to fp32 by the caller)."""
    with torch.inference_mode():
        if options.precision == "fp32":
            yield
        else:
            with torch.autocast(device.type, dtype=_DTYPES[options.precision]):
                yield


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings measure the computation, not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
