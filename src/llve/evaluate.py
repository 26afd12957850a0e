"""``llve test``: score a method on test sequences under the official STCD protocol, plus temporal metrics.

Protocol (defaults of :class:`~llve.data.eval_clips.DataConfig`): each sequence's first 30 frames, resized to
960x512, frame t enhanced together with frame min(t+1, last), only frame t's output scored against frame t's
ground truth (SMID: the sequence's single ground truth). Both averages the official script prints are reported:
the mean of per-sequence means and the mean over all frames. See ``docs/evaluation.md``.
"""
from __future__ import annotations

import math
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator, Literal, NamedTuple

import cv2
import numpy as np
import torch

from llve import metrics
from llve.baselines import BASELINES
from llve.data.eval_clips import Clip, DataConfig, clip_sources, iter_clips, partner_index
from llve.errors import UserInputError
from llve.models.padding import Padder

METHODS = ("stcd", *BASELINES)


@dataclass(frozen=True)
class EvalConfig:
    """Args: data: which frames and how (see DataConfig); method: ``stcd`` or a baseline name; weights: for
    ``stcd``; device: auto|cpu|cuda[:N]; temporal: compute warping error and flicker; panels: how many frames
    the report shows as input | output | R | S | ground truth."""

    data: DataConfig
    method: Literal["stcd", "identity", "gamma", "clahe"] = "stcd"
    weights: str | None = None
    device: str = "auto"
    temporal: bool = True
    panels: int = 4


class FrameResult(NamedTuple):
    """A method's output for one frame: float32 HxWx3 in [0, 1]; R and S only for decomposition networks."""

    y: np.ndarray
    r: np.ndarray | None
    s: np.ndarray | None


Method = Callable[[list[np.ndarray]], Iterator[FrameResult]]


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserInputError(f"unknown device '{device}' (use auto, cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError(f"device '{device}' asked for but CUDA is not available")
    return dev


def baseline_method(name: str) -> Method:
    fn = BASELINES[name]

    def run(frames: list[np.ndarray]) -> Iterator[FrameResult]:
        for f in frames:
            yield FrameResult(fn(f.astype(np.float32) / 255.0), None, None)
    return run


def network_method(model: torch.nn.Module, device: torch.device, pairing: str) -> Method:
    """Runs a two-frame network frame by frame, encoding each frame once (its features serve two pairs)."""

    def to_numpy(x: torch.Tensor, padder: Padder) -> np.ndarray:
        return padder.crop(x)[0].permute(1, 2, 0).float().cpu().numpy()

    @torch.no_grad()
    def run(frames: list[np.ndarray]) -> Iterator[FrameResult]:
        h, w = frames[0].shape[:2]
        padder = Padder(h, w, model.size_multiple)
        cache: dict[int, object] = {}

        def features(i: int):
            if i not in cache:
                x = torch.from_numpy(frames[i]).to(device).permute(2, 0, 1)[None].float().div_(255.0)
                cache[i] = model.encode(padder.pad(x))
            return cache[i]

        n = len(frames)
        for t in range(n):
            d = model.decompose_first(features(t), features(partner_index(t, n, pairing)))
            for k in [k for k in cache if k < t]:  # no later pair needs frames before t
                del cache[k]
            yield FrameResult(to_numpy(d.y, padder), to_numpy(d.r, padder), to_numpy(d.s, padder))
    return run


def build_method(cfg: EvalConfig, device: torch.device) -> Method:
    if cfg.method in BASELINES:
        return baseline_method(cfg.method)
    if not cfg.weights:
        raise UserInputError("method 'stcd' needs weights: pass --weights PATH (or set 'weights' in the config)")
    from llve.models.weights import load_model

    return network_method(load_model(cfg.weights, device), device, cfg.data.pairing)


@dataclass
class Panel:
    """Thumbnails (uint8 RGB) for one frame of the report: input | output | R | S | ground truth."""

    sequence: str
    index: int
    images: dict[str, np.ndarray | None]


@dataclass
class Results:
    """Everything ``metrics.json`` holds (see docs/evaluation.md for the schema), plus report panels."""

    meta: dict
    summary: dict = field(default_factory=dict)
    sequences: list[dict] = field(default_factory=list)
    frames: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None  # an inf PSNR makes the mean inf, as upstream


def _thumb(img: np.ndarray | None, width: int = 320) -> np.ndarray | None:
    if img is None:
        return None
    img = metrics.to_uint8(img) if img.dtype != np.uint8 else img
    h, w = img.shape[:2]
    return img if w <= width else cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def _panel_indices(n: int, per_clip: int) -> set[int]:
    return {int(i) for i in np.linspace(0, n - 1, per_clip).round()} if per_clip > 0 else set()


def _temporal(clip: Clip, outputs: list[np.ndarray], flow: metrics.FlowEstimator) -> dict:
    """Warping error and flicker of one sequence; flow from per-frame ground truth when there is one."""
    per_frame_gt = clip.gt is not None and not clip.single_gt
    source = clip.gt if per_frame_gt else outputs
    out_err, gt_err = [], []
    for t in range(len(outputs) - 1):
        fwd, bwd = flow(source[t], source[t + 1])
        out_err.append(metrics.warping_error(outputs[t], outputs[t + 1], fwd, bwd))
        if per_frame_gt:
            gt_err.append(metrics.warping_error(clip.gt[t], clip.gt[t + 1], fwd, bwd))
    return {"flow_source": "ground_truth" if per_frame_gt else "output", "warp_pairs": out_err,
            "warp_error": _mean(out_err), "warp_error_gt": _mean(gt_err) if per_frame_gt else None}


def _score_clip(clip: Clip, method: Method, cfg: EvalConfig, sync: Callable[[], None], panel_frames: set[int],
                results: Results, save: Callable[[str, str, np.ndarray], None] | None) -> list[float]:
    """Enhance and score one clip; appends frame and sequence records; returns per-frame runtimes."""
    outputs, times, records = [], [], []
    it = method(clip.low)
    for t in range(len(clip.low)):
        start = time.perf_counter()
        res = next(it)
        sync()
        times.append(time.perf_counter() - start)
        out = metrics.to_uint8(res.y)
        gt = clip.gt_for(t)
        rec = {"sequence": clip.name, "index": t, "file": clip.files[t], "psnr": None, "ssim": None,
               "luma": metrics.mean_luma(out), "luma_gt": None, "warp_error": None, "runtime_s": times[-1]}
        if gt is not None:
            if gt.shape != out.shape:
                raise UserInputError(f"sequence {clip.name}, frame {t} ({clip.files[t]}): output is "
                                     f"{out.shape[1]}x{out.shape[0]} but ground truth is {gt.shape[1]}x{gt.shape[0]}")
            rec.update(psnr=metrics.psnr(out, gt), ssim=metrics.ssim(out, gt), luma_gt=metrics.mean_luma(gt))
        if t in panel_frames:
            results.panels.append(Panel(clip.name, t, {"input": _thumb(clip.low[t]), "output": _thumb(out),
                                                       "R": _thumb(res.r), "S": _thumb(res.s), "ground truth": _thumb(gt)}))
        if save is not None:
            save(clip.name, clip.files[t], out)
        outputs.append(out)
        records.append(rec)
    seq = {"name": clip.name, "frames": len(records), "psnr": _mean(r["psnr"] for r in records),
           "ssim": _mean(r["ssim"] for r in records), "flow_source": None, "warp_error": None, "warp_error_gt": None,
           "flicker": metrics.brightness_flicker([r["luma"] for r in records]), "flicker_gt": None,
           "runtime_per_frame_s": _mean(times)}
    if clip.gt is not None and not clip.single_gt:
        seq["flicker_gt"] = metrics.brightness_flicker([r["luma_gt"] for r in records])
    if cfg.temporal and len(outputs) > 1:
        temporal = _temporal(clip, outputs, metrics.FlowEstimator())
        for rec, err in zip(records, temporal.pop("warp_pairs")):
            rec["warp_error"] = err
        seq.update(temporal)
    results.frames.extend(records)
    results.sequences.append(seq)
    return times


def _summary(results: Results, times: list[float]) -> dict:
    seqs, frames = results.sequences, results.frames
    return {
        "sequences": len(seqs), "frames": len(frames),
        "psnr_mean_of_sequences": _mean(s["psnr"] for s in seqs), "ssim_mean_of_sequences": _mean(s["ssim"] for s in seqs),
        "psnr_mean_of_frames": _mean(f["psnr"] for f in frames), "ssim_mean_of_frames": _mean(f["ssim"] for f in frames),
        "warp_error": _mean(s["warp_error"] for s in seqs), "warp_error_gt": _mean(s["warp_error_gt"] for s in seqs),
        "flicker": _mean(s["flicker"] for s in seqs), "flicker_gt": _mean(s["flicker_gt"] for s in seqs),
        # The first frame carries one-off costs (allocation, cuDNN autotuning); it is reported on its own.
        "runtime_per_frame_s": _mean(times[1:] if len(times) > 1 else times),
        "runtime_first_frame_s": times[0] if times else None,
    }


def evaluate(cfg: EvalConfig, save_images: Callable[[str, str, np.ndarray], None] | None = None,
             warn: Callable[[str], None] | None = None, progress: bool = False) -> Results:
    """Run ``cfg.method`` on every test sequence and score it. ``save_images(seq, file, uint8)`` gets each output."""
    device = resolve_device(cfg.device)
    results = Results(meta={})

    def note(msg: str) -> None:
        results.warnings.append(msg)
        if warn is not None:
            warn(msg)

    sources = clip_sources(cfg.data, note)
    method = build_method(cfg, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    shown = min(cfg.panels, len(sources))
    per_clip = math.ceil(cfg.panels / len(sources)) if cfg.panels > 0 else 0
    times: list[float] = []
    clips = iter_clips(sources)
    if progress:
        from tqdm import tqdm
        clips = tqdm(clips, total=len(sources), desc=f"test {cfg.method}", unit="seq")
    for i, clip in enumerate(clips):
        panel_frames = _panel_indices(len(clip.low), per_clip) if i < shown else set()
        times += _score_clip(clip, method, cfg, sync, panel_frames, results, save_images)
    results.summary = _summary(results, times)
    results.meta = {
        "method": cfg.method, "weights": cfg.weights if cfg.method == "stcd" else None,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.processor() or platform.machine()})",
        "torch": torch.__version__, "config": asdict(cfg),
        "protocol": "first {} frames, size {}, pairing {}".format(cfg.data.frames or "all", 
                                                                   "x".join(map(str, cfg.data.size)) if cfg.data.size else "native",
                                                                   cfg.data.pairing),
    }
    return results
