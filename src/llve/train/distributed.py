"""Everything distributed, in one place: world info from torchrun's environment, DDP, samplers, reductions.

``torchrun --nproc_per_node=K -m llve train -c CONFIG`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``;
without them training runs as a single process through exactly the same code (world size 1).
The process group uses NCCL on CUDA and Gloo on CPU. Only the primary rank (0) writes logs and checkpoints.
"""
from __future__ import annotations

import gc
import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from llve.core.device import resolve_device


@dataclass(frozen=True)
class World:
    """Args: rank: global process index; size: number of processes; local_rank: index on this machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def primary(self) -> bool:
        return self.rank == 0


def setup(device_name: str) -> tuple[World, torch.device]:
    """Join the process group when launched by torchrun; return this process's world info and device."""
    world = World(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                  int(os.environ.get("LOCAL_RANK", 0)))
    device = resolve_device(device_name, world.local_rank)
    if world.size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world, device


def cleanup() -> None:
    if dist.is_initialized():
        # Free DDP's reducer (held in reference cycles) while its process group still exists: a reducer
        # collected after the group is gone aborts the process at exit ("terminate called ...").
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def wrap(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """DDP for several processes (it broadcasts rank 0's weights, so all ranks start equal); else unchanged."""
    if world.size == 1:
        return model
    # Depthwise weights (C, 1, 3, 3) get gradients whose stride on the size-1 dimension differs from DDP's
    # bucket view; the memory layout is the same, so PyTorch's "may impair performance" warning is noise here.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


def sampler(dataset: Dataset, world: World, seed: int) -> DistributedSampler:
    """Shuffling sampler giving each rank a disjoint share; call ``set_epoch`` before each epoch.

    Used with world size 1 too, so one process and K processes draw from the same permutation.
    """
    return DistributedSampler(dataset, num_replicas=world.size, rank=world.rank, shuffle=True, seed=seed,
                              drop_last=True)


def reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over all ranks (for logging; gradients are averaged by DDP itself)."""
    if not dist.is_initialized():
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / dist.get_world_size()


@torch.no_grad()
def divergence(model: nn.Module) -> float:
    """Largest absolute difference between this run's weights on any rank and rank 0's (0.0 when in sync)."""
    if not dist.is_initialized():
        return 0.0
    worst = torch.zeros((), dtype=torch.float64)
    for p in unwrap(model).state_dict().values():
        reference = p.detach().clone()
        dist.broadcast(reference, src=0)
        worst = torch.maximum(worst, (p.detach() - reference).abs().max().double().cpu())
    worst = worst.to(next(unwrap(model).parameters()).device)
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return worst.item()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()
