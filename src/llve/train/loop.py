"""Training loop: pairs in, STCD loss, Adam with cosine restarts, TensorBoard, validation, checkpoints, resume.

One code path serves one CPU, one GPU and torchrun with many processes (:mod:`llve.train.distributed`).
A run folder ``out_dir/name`` receives ``config.yaml`` (the resolved config), ``tb/`` (TensorBoard),
``checkpoints/iter_XXXXXXXX.pt`` (the last ``keep_last``) and ``model.safetensors`` at the end.

Resuming is bit-for-bit on CPU: a checkpoint holds the weights, Adam's state, the schedule position, every
RNG state and the iteration; the data order is a function of (seed, epoch) and every item a function of
(seed, epoch, index), so the resumed run skips to the same place in the same epoch and sees the same batches.

The loop (:func:`_train`) reads top to bottom: :func:`setup` builds a :class:`Run`, :func:`batches` feeds it,
:func:`train_step` optimises, :func:`validate` and :func:`checkpoint` run every so many iterations.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from llve.core.atomic import atomic_output
from llve.core.config import to_yaml
from llve.core.errors import UserInputError
from llve.core.image import tensor_to_uint8
from llve.data.datasets import PairDataset, TrainBatch, collate
from llve.evaluate import metrics
from llve.flow import build_backend
from llve.flow.cache import CorrespondenceCache
from llve.models import build_model
from llve.models.padding import Padder
from llve.models.weights import read_weights, save_model
from llve.train import distributed
from llve.train.checkpoints import (
    check_run_folder,
    latest_checkpoint,  # noqa: F401 (re-exported: llve.train.loop.latest_checkpoint)
    prune,
    read_for_resume,
    restore,
    save_checkpoint,
)
from llve.train.config import LoopConfig, TrainConfig
from llve.train.losses import LossTerms, stcd_loss
from llve.train.schedule import learning_rate

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


@dataclass
class Run:
    """What a training run is built from, made once by :func:`setup`. Args: model: the network, wrapped for DDP
    when there are several processes; start: the iteration the run starts from (0, or the resumed checkpoint's);
    writer: TensorBoard writer on the primary process when logging is on, else None."""

    cfg: TrainConfig
    world: distributed.World
    device: torch.device
    run_dir: Path
    train_set: PairDataset
    val_set: PairDataset
    sampler: torch.utils.data.Sampler
    steps_per_epoch: int
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    start: int
    writer: object | None
    log: Callable[[str], None]


def train(cfg: TrainConfig, resume: str | Path | None = None, log: Callable[[str], None] = print) -> TrainSummary:
    """Train ``cfg`` (optionally continuing a checkpoint); works under torchrun unchanged."""
    world, device = distributed.setup(cfg.train.device)
    try:
        return _train(setup(cfg, resume, world, device, log if world.primary else (lambda msg: None)))
    finally:
        distributed.cleanup()


def _train(run: Run) -> TrainSummary:
    cfg, log, primary = run.cfg, run.log, run.world.primary
    iteration, t0, last_loss, val_psnr = run.start, time.perf_counter(), float("nan"), None
    log(f"llve: training {cfg.name}: {len(run.train_set)} pairs, {len(run.val_set)} held out, "
        f"{run.world.size} process(es), device {run.device}, from iteration {iteration} to {cfg.train.iterations}")
    for iteration, batch in batches(run):
        terms, out = train_step(run.model, batch, run.optimizer, run.scheduler, cfg.train)
        last_loss = distributed.reduce_mean(terms.total.detach()).item()
        _report(run, iteration, terms, t0)
        if run.writer and _due(cfg.log.images_every, iteration):
            run.writer.add_image("train/input_output_R_S_GT", panel(batch, out), iteration)
        if primary and len(run.val_set) and _due(cfg.log.val_every, iteration):
            val_psnr, shown = validate(run.model, run.val_set, run.device, cfg.data.val_items)
            log(f"llve: iteration {iteration}: validation PSNR {val_psnr:.2f} dB")
            if run.writer:
                run.writer.add_scalar("val/psnr", val_psnr, iteration)
                run.writer.add_image("val/input_output_R_S_GT", shown, iteration)
        if primary and _due(cfg.log.checkpoint_every, iteration):
            checkpoint(run, iteration)
    seconds = time.perf_counter() - t0
    spread = distributed.divergence(run.model)
    if run.world.size > 1:
        log(f"llve: weights on all {run.world.size} ranks: max difference {spread}")
    if primary:
        _finish(run, iteration, seconds)
    # Leave together: a rank that tears its process group down while rank 0 still writes can abort in Gloo.
    distributed.barrier()
    return TrainSummary(run.run_dir, iteration, iteration - run.start, seconds, last_loss, val_psnr,
                        run.world.size, spread)


def setup(cfg: TrainConfig, resume, world: distributed.World, device: torch.device, log) -> Run:
    """Data, network (fine-tune weights or a resumed checkpoint), Adam, schedule, config.yaml and TensorBoard."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    run_dir = Path(cfg.out_dir) / cfg.name
    check_run_folder(run_dir, resume)
    if not world.primary:
        distributed.barrier()  # rank 0 decodes videos and lists files first
    train_set, val_set = _make_datasets(cfg, Path(cfg.data.correspondence.cache_dir or Path(cfg.out_dir) / "cache"))
    if world.primary:
        distributed.barrier()
    train_set[0]  # fail here, with a clean message, on unreadable files or a crop larger than the frames
    sampler = distributed.sampler(train_set, world, cfg.train.seed)
    steps_per_epoch = len(sampler) // cfg.data.batch_size
    if steps_per_epoch == 0:
        raise UserInputError(f"{len(train_set)} training pairs are fewer than batch_size x processes "
                             f"({cfg.data.batch_size} x {world.size})")

    torch.manual_seed(cfg.train.seed)  # equal initial weights everywhere (DDP also broadcasts rank 0's)
    net = build_model(cfg.model.arch, **cfg.model.config)
    if cfg.model.weights and not resume:
        _load_start_weights(net, cfg, log)
    net.to(device).train()
    opt_cfg = cfg.train.optim
    optimizer = torch.optim.Adam(net.parameters(), lr=opt_cfg.lr, betas=opt_cfg.betas,
                                 weight_decay=opt_cfg.weight_decay)
    # A plain function: LambdaLR leaves it out of its state (None), so a checkpoint stays tensor-only and a resume
    # rebuilds the schedule from the config.
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: learning_rate(opt_cfg, i) / opt_cfg.lr)
    torch.manual_seed(cfg.train.seed + world.rank)  # per-rank stream from here on (a resume restores it)
    start = 0
    if resume:
        path, ckpt = read_for_resume(resume)
        if ckpt.get("arch") != cfg.model.arch:
            raise UserInputError(f"checkpoint {path} is for model '{ckpt.get('arch')}', config says '{cfg.model.arch}'")
        start = restore(ckpt, path, net, optimizer, scheduler)
        log(f"llve: resumed {path} at iteration {start}")
    if world.primary:  # only now that the run can start: a failed resume leaves the old config.yaml as it was
        with atomic_output(run_dir / "config.yaml") as tmp:
            tmp.write_text(to_yaml(cfg))
    model = distributed.wrap(net, world, device)
    return Run(cfg, world, device, run_dir, train_set, val_set, sampler, steps_per_epoch, model, optimizer,
               scheduler, start, _open_writer(cfg, world, run_dir), log)


def _make_datasets(cfg: TrainConfig, cache_root: Path) -> tuple[PairDataset, PairDataset]:
    corr = CorrespondenceCache(build_backend(cfg.data.correspondence),
                               cache_root / "correspondences" if cfg.data.correspondence.cache else None)
    common = dict(sources=list(cfg.data.train), sampling=cfg.data.sampling, correspondences=corr,
                  seed=cfg.train.seed, cache_root=cache_root)
    return PairDataset(split="train", **common), PairDataset(split="test", **common)


def _load_start_weights(net: torch.nn.Module, cfg: TrainConfig, log) -> None:
    """Fine-tune from ``cfg.model.weights``: only :data:`FRESH_LAYERS` may be missing from the file."""
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
                             f"missing {', '.join(new[:5]) or 'none'}; "
                             f"unexpected {', '.join(unexpected[:5]) or 'none'}")
    if missing:
        log(f"llve: starting from {cfg.model.weights}; new layers start as the identity: "
            f"{', '.join(sorted({k.split('.')[0] for k in missing}))}")


def _open_writer(cfg: TrainConfig, world: distributed.World, run_dir: Path):
    if not (world.primary and (cfg.log.scalars_every or cfg.log.images_every or cfg.log.val_every)):
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UserInputError("TensorBoard logging needs the 'tensorboard' package: pip install 'llve[train]'") from None
    return SummaryWriter(str(run_dir / "tb"))


def batches(run: Run) -> Iterator[tuple[int, TrainBatch]]:
    """Yield ``(iteration, batch on the device)`` from ``run.start + 1`` to the last iteration.

    Epoch ``iteration // steps_per_epoch`` is shuffled from (seed, epoch); a resumed run skips the batches of
    its epoch that it already saw.
    """
    cfg, iteration, size = run.cfg, run.start, run.cfg.data.batch_size
    while iteration < cfg.train.iterations:
        epoch, skip = divmod(iteration, run.steps_per_epoch)
        run.sampler.set_epoch(epoch)
        run.train_set.set_epoch(epoch)
        indices = list(run.sampler)[skip * size:]
        loader = DataLoader(run.train_set, batch_size=size, sampler=indices, drop_last=True, collate_fn=collate,
                            num_workers=cfg.data.workers, pin_memory=run.device.type == "cuda")
        for data in loader:
            iteration += 1
            yield iteration, data.to(run.device, non_blocking=True)
            if iteration >= cfg.train.iterations:
                return


def forward_pair(model, batch: TrainBatch):
    """Run the batch's low-light pair through the network at any size: pad to its size multiple, crop back.

    A network with exposure control is asked for each ground truth's own brightness (``exposure1/2``, (B,)).
    """
    net = distributed.unwrap(model)
    padder = Padder(batch.low1.shape[-2], batch.low1.shape[-1], net.size_multiple)
    targets = (batch.exposure1, batch.exposure2) if getattr(net, "exposure_control", False) else ()
    out = model(padder.pad(batch.low1), padder.pad(batch.low2), *targets)
    return type(out)(*(padder.crop(t) for t in out))


def train_step(model, batch: TrainBatch, optimizer, scheduler, cfg: LoopConfig):
    """One optimisation step: forward, STCD loss, backward, clip, Adam, schedule; returns the loss terms and outputs."""
    out = forward_pair(model, batch)
    terms = stcd_loss(out, batch, cfg.loss)
    optimizer.zero_grad(set_to_none=True)
    terms.total.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    scheduler.step()
    return terms, out


@torch.no_grad()
def validate(model, dataset: PairDataset, device: torch.device, max_items: int = 0) -> tuple[float, torch.Tensor]:
    """Mean PSNR of Y1 over the held-out pairs, and the first pair's :func:`panel`."""
    net = distributed.unwrap(model)
    was_training = net.training
    net.eval()
    scores, first = [], None
    for i in range(len(dataset) if max_items <= 0 else min(max_items, len(dataset))):
        batch = collate([dataset[i]]).to(device)
        out = forward_pair(net, batch)
        # The protocol's PSNR (uint8, peak 255) on the trainer's crops: a quick number; `llve test` is the full one.
        scores.append(metrics.psnr(tensor_to_uint8(out.y1), tensor_to_uint8(batch.gt1)))
        if first is None:
            first = panel(batch, out)
    net.train(was_training)
    return float(np.mean(scores)) if scores else float("nan"), first


def checkpoint(run: Run, iteration: int) -> None:
    """Save ``iter_XXXXXXXX.pt`` (weights, Adam, schedule, RNG states) and keep the last ``keep_last``."""
    folder = run.run_dir / "checkpoints"
    save_checkpoint(folder / f"iter_{iteration:08d}.pt", run.model, run.optimizer, run.scheduler, iteration, run.cfg)
    prune(folder, run.cfg.log.keep_last)


def panel(batch: TrainBatch, out) -> torch.Tensor:
    """The batch's first pair: input | output | R | S | GT side by side, (3, H, 5W), for TensorBoard."""
    images = (batch.low1[0], out.y1[0], out.r1[0], out.s1[0], batch.gt1[0])
    return torch.cat([t.detach().float().cpu().clamp(0, 1) for t in images], dim=-1)


def _due(every: int, iteration: int) -> bool:
    return bool(every) and iteration % every == 0


def _report(run: Run, iteration: int, terms: LossTerms, t0: float) -> None:
    cfg, lr = run.cfg, run.optimizer.param_groups[0]["lr"]
    if run.writer and _due(cfg.log.scalars_every, iteration):
        for name, value in terms._asdict().items():
            run.writer.add_scalar(f"loss/{name}", value.item(), iteration)
        run.writer.add_scalar("lr", lr, iteration)
    if _due(cfg.log.print_every, iteration):
        speed = (iteration - run.start) / max(time.perf_counter() - t0, 1e-9)
        parts = " ".join(f"{name} {value.item():.5f}" for name, value in terms._asdict().items() if name != "total")
        run.log(f"iter {iteration}/{cfg.train.iterations} loss {terms.total.item():.5f} ({parts}) lr {lr:.2e} "
                f"{speed:.2f} it/s")


def _finish(run: Run, iteration: int, seconds: float) -> None:
    """The last checkpoint, ``model.safetensors`` and the closing line (primary process)."""
    checkpoint(run, iteration)
    save_model(distributed.unwrap(run.model), run.run_dir / "model.safetensors")
    if run.writer:
        run.writer.close()
    done = iteration - run.start
    run.log(f"llve: done: {done} iterations in {seconds:.1f} s ({done / max(seconds, 1e-9):.2f} it/s); "
            f"weights in {run.run_dir / 'model.safetensors'}")
