"""Training loop: pairs in, STCD loss, Adam with cosine restarts, TensorBoard, validation, checkpoints, resume.

One code path serves one CPU, one GPU and torchrun with many processes (:mod:`llve.distributed`).
A run folder ``out_dir/name`` receives ``config.yaml`` (the resolved config), ``tb/`` (TensorBoard),
``checkpoints/iter_XXXXXXXX.pt`` (the last ``keep_last``) and ``model.safetensors`` at the end.

Resuming is bit-for-bit on CPU: a checkpoint holds the weights, Adam's state, the schedule position, every
RNG state and the iteration; the data order is a function of (seed, epoch) and every item a function of
(seed, epoch, index), so the resumed run skips to the same place in the same epoch and sees the same batches.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from llve import distributed, metrics
from llve.atomic import atomic_output
from llve.checkpoints import latest_checkpoint  # noqa: F401 (re-exported: llve.train.latest_checkpoint)
from llve.checkpoints import check_run_folder, prune, read_for_resume, restore, save_checkpoint
from llve.config import to_yaml
from llve.correspondence import build_backend
from llve.correspondence.cache import CorrespondenceCache
from llve.data.datasets import PairDataset, collate
from llve.errors import UserInputError
from llve.streaming import to_uint8
from llve.losses import stcd_loss
from llve.models import build_model
from llve.models.padding import Padder
from llve.schedule import ScheduleFactor
from llve.train_config import TrainConfig


# Prefixes of layers that are initialised to leave a network's output unchanged, so fine-tuning may add them.
FRESH_LAYERS = ("exposure.",)


@dataclass(frozen=True)
class TrainSummary:
    """What a finished run reports: its folder, the iterations done in this call and their speed."""

    run_dir: Path
    iteration: int
    steps: int
    seconds: float
    last_loss: float
    val_psnr: float | None
    world_size: int = 1
    rank_divergence: float = 0.0  # max |weight difference| between ranks at the end (0.0: in sync)


def _forward(model, x1: torch.Tensor, x2: torch.Tensor, exposure1: torch.Tensor, exposure2: torch.Tensor):
    """Run the pair through the network at any size: pad to its size multiple, crop every output back.

    A network with exposure control is asked for each ground truth's own brightness (``exposure1/2``, (B,)).
    """
    net = distributed.unwrap(model)
    padder = Padder(x1.shape[-2], x1.shape[-1], net.size_multiple)
    targets = (exposure1, exposure2) if getattr(net, "exposure_control", False) else ()
    out = model(padder.pad(x1), padder.pad(x2), *targets)
    return type(out)(*(padder.crop(t) for t in out))


@torch.no_grad()
def validate(model, dataset: PairDataset, device: torch.device, max_items: int = 0) -> tuple[float, dict]:
    """Mean PSNR of Y1 over the held-out pairs, and the first pair's outputs for an image panel."""
    net = distributed.unwrap(model)
    was_training = net.training
    net.eval()
    scores, first = [], None
    for i in range(len(dataset) if max_items <= 0 else min(max_items, len(dataset))):
        item = dataset[i]
        out = _forward(net, item["low1"][None].to(device), item["low2"][None].to(device),
                       item["exposure1"][None].to(device), item["exposure2"][None].to(device))
        # The protocol's PSNR (uint8, peak 255) on the trainer's crops: a quick number; `llve test` is the full one.
        scores.append(metrics.psnr(to_uint8(out.y1), to_uint8(item["gt1"][None])))
        if first is None:
            first = {"low1": item["low1"], "y1": out.y1[0].cpu(), "r1": out.r1[0].cpu(), "s1": out.s1[0].cpu(),
                     "gt1": item["gt1"]}
    net.train(was_training)
    return float(np.mean(scores)) if scores else float("nan"), first


def panel(low, y, r, s, gt) -> torch.Tensor:
    """input | output | R | S | GT side by side, (3, H, 5W), for TensorBoard."""
    return torch.cat([t.detach().float().cpu().clamp(0, 1) for t in (low, y, r, s, gt)], dim=-1)


def _make_datasets(cfg: TrainConfig, cache_root: Path) -> tuple[PairDataset, PairDataset]:
    corr = CorrespondenceCache(build_backend(cfg.data.correspondence),
                               cache_root / "correspondences" if cfg.data.correspondence.cache else None)
    common = dict(sources=list(cfg.data.train), sampling=cfg.data.sampling, correspondences=corr,
                  seed=cfg.train.seed, cache_root=cache_root)
    return PairDataset(split="train", **common), PairDataset(split="test", **common)


def train(cfg: TrainConfig, resume: str | Path | None = None, log: Callable[[str], None] = print) -> TrainSummary:
    """Train ``cfg`` (optionally continuing a checkpoint); works under torchrun unchanged."""
    world, device = distributed.setup(cfg.train.device)
    try:
        return _train(cfg, resume, world, device, log if world.primary else (lambda msg: None))
    finally:
        distributed.cleanup()


def _train(cfg: TrainConfig, resume, world: distributed.World, device: torch.device, log) -> TrainSummary:
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    run_dir = Path(cfg.out_dir) / cfg.name
    cache_root = Path(cfg.data.correspondence.cache_dir or Path(cfg.out_dir) / "cache")
    check_run_folder(run_dir, resume)
    if not world.primary:
        distributed.barrier()  # rank 0 decodes videos and lists files first
    train_set, val_set = _make_datasets(cfg, cache_root)
    if world.primary:
        distributed.barrier()
    train_set[0]  # fail here, with a clean message, on unreadable files or a crop larger than the frames
    batch = cfg.data.batch_size
    sampler = distributed.sampler(train_set, world, cfg.train.seed)
    steps_per_epoch = len(sampler) // batch
    if steps_per_epoch == 0:
        raise UserInputError(f"{len(train_set)} training pairs are fewer than batch_size x processes "
                             f"({batch} x {world.size})")

    torch.manual_seed(cfg.train.seed)  # equal initial weights everywhere (DDP also broadcasts rank 0's)
    net = build_model(cfg.model.arch, **cfg.model.config)
    if cfg.model.weights and not resume:
        from llve.models.weights import read_weights

        state, _, _ = read_weights(cfg.model.weights)
        try:
            missing, unexpected = net.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            raise UserInputError(f"weights {cfg.model.weights} do not fit model '{cfg.model.arch}': "
                                 f"{str(exc).splitlines()[0]}") from None
        # Layers that start as the identity (the exposure control) may be new; any other gap is an error.
        new = [k for k in missing if not k.startswith(FRESH_LAYERS)]
        if new or unexpected:
            raise UserInputError(f"weights {cfg.model.weights} do not fit model '{cfg.model.arch}': "
                                 f"missing {', '.join(new[:5]) or 'none'}; unexpected {', '.join(unexpected[:5]) or 'none'}")
        if missing:
            log(f"llve: starting from {cfg.model.weights}; new layers start as the identity: "
                f"{', '.join(sorted({k.split('.')[0] for k in missing}))}")
    net.to(device).train()
    opt_cfg = cfg.train.optim
    optimizer = torch.optim.Adam(net.parameters(), lr=opt_cfg.lr, betas=opt_cfg.betas,
                                 weight_decay=opt_cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, ScheduleFactor(opt_cfg))
    torch.manual_seed(cfg.train.seed + world.rank)  # per-rank stream from here on (a resume restores it)
    iteration = 0
    if resume:
        path, ckpt = read_for_resume(resume)
        if ckpt.get("arch") != cfg.model.arch:
            raise UserInputError(f"checkpoint {path} is for model '{ckpt.get('arch')}', config says '{cfg.model.arch}'")
        iteration = restore(ckpt, path, net, optimizer, scheduler)
        log(f"llve: resumed {path} at iteration {iteration}")
    if world.primary:  # only now that the run can start: a failed resume leaves the old config.yaml as it was
        with atomic_output(run_dir / "config.yaml") as tmp:
            tmp.write_text(to_yaml(cfg))
    model = distributed.wrap(net, world, device)

    writer = None
    if world.primary and (cfg.log.scalars_every or cfg.log.images_every or cfg.log.val_every):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserInputError("TensorBoard logging needs the 'tensorboard' package: pip install 'llve[train]'") \
                from None
        writer = SummaryWriter(str(run_dir / "tb"))

    ckpt_dir = run_dir / "checkpoints"
    start, t0, last_loss, val_psnr = iteration, time.perf_counter(), float("nan"), None
    log(f"llve: training {cfg.name}: {len(train_set)} pairs, {len(val_set)} held out, {world.size} process(es), "
        f"device {device}, from iteration {iteration} to {cfg.train.iterations}")
    while iteration < cfg.train.iterations:
        epoch, skip = divmod(iteration, steps_per_epoch)
        sampler.set_epoch(epoch)
        train_set.set_epoch(epoch)
        indices = list(sampler)[skip * batch:]  # resume mid-epoch exactly where the run stopped
        loader = DataLoader(train_set, batch_size=batch, sampler=indices, drop_last=True, collate_fn=collate,
                            num_workers=cfg.data.workers, pin_memory=device.type == "cuda")
        for data in loader:
            data = {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in data.items()}
            out = _forward(model, data["low1"], data["low2"], data["exposure1"], data["exposure2"])
            terms = stcd_loss(out, data, cfg.train.loss)
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            if cfg.train.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            optimizer.step()
            scheduler.step()
            iteration += 1
            last_loss = distributed.reduce_mean(terms.total.detach()).item()
            _report(cfg, iteration, terms, optimizer, writer, log, t0, start)
            if writer and cfg.log.images_every and iteration % cfg.log.images_every == 0:
                writer.add_image("train/input_output_R_S_GT", panel(data["low1"][0], out.y1[0], out.r1[0],
                                                                    out.s1[0], data["gt1"][0]), iteration)
            if world.primary and len(val_set) and cfg.log.val_every and iteration % cfg.log.val_every == 0:
                val_psnr, shown = validate(model, val_set, device, cfg.data.val_items)
                log(f"llve: iteration {iteration}: validation PSNR {val_psnr:.2f} dB")
                if writer:
                    writer.add_scalar("val/psnr", val_psnr, iteration)
                    writer.add_image("val/input_output_R_S_GT", panel(*shown.values()), iteration)
            if world.primary and cfg.log.checkpoint_every and iteration % cfg.log.checkpoint_every == 0:
                save_checkpoint(ckpt_dir / f"iter_{iteration:08d}.pt", model, optimizer, scheduler, iteration, cfg)
                prune(ckpt_dir, cfg.log.keep_last)
            if iteration >= cfg.train.iterations:
                break
    seconds = time.perf_counter() - t0
    spread = distributed.divergence(model)
    if world.size > 1:
        log(f"llve: weights on all {world.size} ranks: max difference {spread}")
    if world.primary:
        save_checkpoint(ckpt_dir / f"iter_{iteration:08d}.pt", model, optimizer, scheduler, iteration, cfg)
        prune(ckpt_dir, cfg.log.keep_last)
        from llve.models.weights import save_model

        save_model(distributed.unwrap(model), run_dir / "model.safetensors")
        if writer:
            writer.close()
        log(f"llve: done: {iteration - start} iterations in {seconds:.1f} s "
            f"({(iteration - start) / max(seconds, 1e-9):.2f} it/s); weights in {run_dir / 'model.safetensors'}")
    # Leave together: a rank that tears its process group down while rank 0 still writes can abort in Gloo.
    distributed.barrier()
    return TrainSummary(run_dir, iteration, iteration - start, seconds, last_loss, val_psnr, world.size, spread)


def _report(cfg: TrainConfig, iteration: int, terms, optimizer, writer, log, t0: float, start: int) -> None:
    lr = optimizer.param_groups[0]["lr"]
    if writer and cfg.log.scalars_every and iteration % cfg.log.scalars_every == 0:
        for name, value in terms._asdict().items():
            writer.add_scalar(f"loss/{name}", value.item(), iteration)
        writer.add_scalar("lr", lr, iteration)
    if cfg.log.print_every and iteration % cfg.log.print_every == 0:
        speed = (iteration - start) / max(time.perf_counter() - t0, 1e-9)
        log(f"iter {iteration}/{cfg.train.iterations} loss {terms.total.item():.5f} (pixel {terms.pixel.item():.5f} "
            f"smooth {terms.smooth.item():.5f} consistency {terms.consistency.item():.5f}) lr {lr:.2e} "
            f"{speed:.2f} it/s")
