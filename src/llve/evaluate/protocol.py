"""``llve test``: score a method on test sequences under the official STCD protocol, plus temporal metrics.

Protocol (defaults of :class:`~llve.data.eval_clips.DataConfig`): each sequence's first 30 frames, resized to
960x512, frame t enhanced together with frame min(t+1, last), only frame t's output scored against frame t's
ground truth (SMID: the sequence's single ground truth). Both averages the official script prints are reported:
the mean of per-sequence means and the mean over all frames. See ``docs/evaluation.md``.
"""
from __future__ import annotations

import itertools
import math
import platform
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
from tqdm import tqdm

from llve.core.atomic import atomic_output
from llve.core.config import to_yaml
from llve.core.errors import UserInputError
from llve.core.image import float_to_uint8, mean_luma_255
from llve.data.eval_clips import ClipSource, FramePair, clip_sources
from llve.evaluate import metrics
from llve.evaluate.baselines import BASELINES
from llve.evaluate.config import EvalConfig
from llve.evaluate.records import FrameRecord, Panel, Results, RunInfo, SequenceRecord, Summary, mean
from llve.evaluate.report import ReportPaths, write_results
from llve.flow.dis import DISBackend
from llve.media.frames import write_frame
from llve.run.enhancer import DEFAULT_WEIGHTS, Enhancer
from llve.stream.pipeline import K


class MethodOutput(NamedTuple):
    """A method's output for one frame: float32 HxWx3 in [0, 1]; R and S only for decomposition networks."""

    y: np.ndarray
    r: np.ndarray | None
    s: np.ndarray | None


# (key, uint8 RGB frame) in, (key, output) out, one per frame, in order: the key travels with its frame. The second
# argument, when not None, is the brightness the output should have (``exposure: gt``).
Method = Callable[[Iterable[tuple[K, np.ndarray]], float | None], Iterator[tuple[K, MethodOutput]]]
TARGETED_BASELINES = ("gamma", "gamma+nlm")  # baselines with a brightness target


def scaled_to(y: np.ndarray, target: float) -> np.ndarray:
    """``y`` (float HxWx3 in [0, 1]) multiplied so that its mean luma is ``target``, then clipped: the "GT-mean"
    protocol for methods that cannot be asked for a brightness (networks without exposure control, identity, CLAHE)."""
    return np.clip(y * (target / max(mean_luma_255(y), 1e-6)), 0.0, 1.0).astype(np.float32)


def baseline_method(name: str) -> Method:
    fn = BASELINES[name]

    def run(items: Iterable[tuple[K, np.ndarray]], target: float | None = None
            ) -> Iterator[tuple[K, MethodOutput]]:
        aim = {"target": target} if target is not None and name in TARGETED_BASELINES else {}
        for key, f in items:
            y = fn(f.astype(np.float32) / 255.0, **aim)
            yield key, MethodOutput(y if aim or target is None else scaled_to(y, target), None, None)
    return run


def network_method(enhancer: Enhancer) -> Method:
    """The network through the stream (:mod:`llve.stream.pipeline`), which owns the pairing rule:
    frame t with min(t+1, last), each frame encoded once, padded by ``Padder`` and cropped back. With a target,
    a network with exposure control is asked for it; others are scaled to it (:func:`scaled_to`)."""

    def run(items: Iterable[tuple[K, np.ndarray]], target: float | None = None
            ) -> Iterator[tuple[K, MethodOutput]]:
        for key, d in enhancer.decompose_stream(items, exposure=target):
            y, r, s = (x[0].permute(1, 2, 0).float().cpu().numpy() for x in d)
            if target is not None and not enhancer.exposure_control:
                y = scaled_to(y, target)
            yield key, MethodOutput(y, r, s)
    return run


@dataclass(frozen=True)
class Runner:
    """A method ready to run, where it runs, and how to wait for it (CUDA is asynchronous)."""

    method: Method
    device: str
    sync: Callable[[], None]
    arch: str | None = None


def build_runner(cfg: EvalConfig) -> Runner:
    if cfg.method in BASELINES:
        return Runner(baseline_method(cfg.method), f"cpu ({platform.machine()}, numpy/OpenCV)", lambda: None)
    from llve.models import arch_name

    enhancer = Enhancer(cfg.weights, cfg.device, cfg.stream)  # weights None: the bundled ones
    dev = enhancer.device
    if dev.type == "cuda":
        name, sync = torch.cuda.get_device_name(dev), (lambda: torch.cuda.synchronize(dev))
    else:
        name, sync = f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)", (lambda: None)
    return Runner(network_method(enhancer), name + (" fp16" if enhancer.fp16 else ""), sync, arch_name(enhancer.model))


def _thumb(img: np.ndarray | None, width: int = 320) -> np.ndarray | None:
    if img is None:
        return None
    img = float_to_uint8(img) if img.dtype != np.uint8 else img
    h, w = img.shape[:2]
    return img if w <= width else cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


class _Reader:
    """Feeds a clip's low-light frames to a method, each keyed by its frame pair (ground truth, file name), and
    times the reading, so that ``runtime`` counts the method alone."""

    def __init__(self, src: ClipSource):
        self.src, self.read_time = src, 0.0

    def lows(self) -> Iterator[tuple[FramePair, np.ndarray]]:
        stream, first = self.src.read(), None
        for i in itertools.count():
            start = time.perf_counter()
            pair = next(stream, None)
            self.read_time += time.perf_counter() - start
            if pair is None:
                return
            first = first if first is not None else pair.low.shape
            if pair.low.shape != first:
                raise UserInputError(f"sequence {self.src.name}, frame {i} ({pair.file}): size {pair.low.shape[1]}x"
                                     f"{pair.low.shape[0]} differs from the first frame's {first[1]}x{first[0]}; "
                                     "set data.size to resize all frames")
            yield pair, pair.low


def _frame_record(name: str, t: int, pair: FramePair, out: np.ndarray, seconds: float) -> FrameRecord:
    psnr = ssim = luma_gt = detail = flat = lift = colour = None
    if pair.gt is not None:
        if pair.gt.shape != out.shape:
            raise UserInputError(f"sequence {name}, frame {t} ({pair.file}): output is {out.shape[1]}x{out.shape[0]} "
                                 f"but ground truth is {pair.gt.shape[1]}x{pair.gt.shape[0]}")
        psnr, ssim, luma_gt = metrics.psnr(out, pair.gt), metrics.ssim(out, pair.gt), mean_luma_255(pair.gt)
        detail, flat = metrics.detail_ratio(out, pair.gt), metrics.flat_noise(out, pair.gt)
        lift, colour = metrics.black_lift(out, pair.gt), metrics.colourfulness(out, pair.gt)
    # The no-reference measures of real footage (docs/evaluation.md) need only the input and the output.
    return FrameRecord(name, t, pair.file, psnr, ssim, mean_luma_255(out), luma_gt, None, seconds,
                       luma_input=mean_luma_255(pair.low), clipped_new=metrics.newly_clipped(pair.low, out),
                       noise=metrics.noise_sigma(out), black_level=metrics.black_level(out), detail=detail,
                       flat_noise=flat, black_lift=lift, colourfulness=colour)


def _gt_brightness(src: ClipSource) -> float:
    """Mean luma (0-1) of a sequence's ground truth over the scored frames (one extra read of the sequence)."""
    lumas = [mean_luma_255(pair.gt) / 255.0 for pair in src.read() if pair.gt is not None]
    if not lumas:
        raise UserInputError(f"exposure: gt needs ground truth, and sequence {src.name} has none")
    return float(np.clip(np.mean(lumas), 0.02, 0.98))


def _score_clip(src: ClipSource, runner: Runner, cfg: EvalConfig, panel_frames: set[int],
                results: Results, save: Callable[[str, str, np.ndarray], None] | None) -> list[float]:
    """Enhance and score one clip frame by frame; appends frame and sequence records; returns per-frame runtimes.

    Temporal metrics use the flow between consecutive ground-truth frames when each frame has its own ground
    truth, else between consecutive outputs; only the previous frame is kept in memory.
    """
    reader, flow = _Reader(src), DISBackend().flows if cfg.temporal else None
    per_frame_gt = src.gt == "per_frame"
    records, times, gt_errors, prev = [], [], [], None
    target = _gt_brightness(src) if cfg.gt_exposure else None
    outputs = runner.method(reader.lows(), target)
    for t in itertools.count():
        start, read_before = time.perf_counter(), reader.read_time
        keyed = next(outputs, None)
        if keyed is None:
            break
        runner.sync()
        times.append(time.perf_counter() - start - (reader.read_time - read_before))
        pair, res = keyed
        out = float_to_uint8(res.y)
        rec = _frame_record(src.name, t, pair, out, times[-1])
        if prev is not None:
            rec.noise_change = metrics.noise_change(prev[0].low, pair.low)
        if flow is not None and prev is not None:
            prev_pair, prev_out = prev
            fwd, bwd = flow(prev_pair.gt, pair.gt) if per_frame_gt else flow(prev_out, out)
            records[-1].warp_error = metrics.warping_error(prev_out, out, fwd, bwd)
            if per_frame_gt:
                gt_errors.append(metrics.warping_error(prev_pair.gt, pair.gt, fwd, bwd))
        if t in panel_frames:
            images = {"input": pair.low, "output": out, "R": res.r, "S": res.s, "ground truth": pair.gt}
            results.panels.append(Panel(src.name, t, {k: _thumb(v) for k, v in images.items()}))
        if save is not None:
            save(src.name, pair.file, out)
        records.append(rec)
        prev = (pair, out)
    temporal = flow is not None and len(records) > 1
    lumas = [r.luma for r in records]
    floor = metrics.flicker_floor([r.noise_change for r in records if r.noise_change is not None])
    results.frames.extend(records)
    results.sequences.append(SequenceRecord(
        src.name, len(records), psnr=mean(r.psnr for r in records), ssim=mean(r.ssim for r in records),
        flow_source=("ground_truth" if per_frame_gt else "output") if temporal else None,
        warp_error=mean(r.warp_error for r in records) if temporal else None,
        warp_error_gt=mean(gt_errors) if temporal and per_frame_gt else None,
        flicker=metrics.brightness_flicker(lumas),
        flicker_gt=metrics.brightness_flicker([r.luma_gt for r in records]) if per_frame_gt else None,
        runtime_per_frame_s=mean(times), exposure=mean(lumas), clipped_new=mean(r.clipped_new for r in records),
        noise=mean(r.noise for r in records), black_level=mean(r.black_level for r in records),
        detail=mean(r.detail for r in records), flat_noise=mean(r.flat_noise for r in records),
        black_lift=mean(r.black_lift for r in records), colourfulness=mean(r.colourfulness for r in records),
        relative_flicker=metrics.relative_flicker([r.luma_input for r in records], lumas, floor), flicker_floor=floor))
    return times


def evaluate(cfg: EvalConfig, save_images: Callable[[str, str, np.ndarray], None] | None = None,
             warn: Callable[[str], None] | None = None, progress: bool = False) -> Results:
    """Run ``cfg.method`` on every test sequence and score it. ``save_images(seq, file, uint8)`` gets each output."""
    results = Results()

    def note(msg: str) -> None:
        results.warnings.append(msg)
        if warn is not None:
            warn(msg)

    sources = clip_sources(cfg.data, note)
    runner = build_runner(cfg)
    shown = min(cfg.panels, len(sources))
    per_clip = math.ceil(cfg.panels / len(sources))
    times: list[float] = []
    for i, src in enumerate(tqdm(sources, desc=f"test {cfg.method}", unit="seq", disable=not progress)):
        known = src.count or cfg.data.frames or 1  # unknown video length: spread over the protocol's frames
        panel_frames = {int(t) for t in np.linspace(0, known - 1, per_clip).round()} if i < shown else set()
        times += _score_clip(src, runner, cfg, panel_frames, results, save_images)
    results.summary = Summary.of(results.sequences, results.frames, times)
    weights = (cfg.weights or str(DEFAULT_WEIGHTS)) if cfg.method == "stcd" else None
    size = "x".join(map(str, cfg.data.size)) if cfg.data.size else "native"
    protocol = f"first {cfg.data.frames or 'all'} frames, size {size}, pairing {cfg.stream.pairing} " + \
        ("(min(t+1, last))" if cfg.stream.pairing == "next" else "(each frame with itself)")
    results.meta = RunInfo(cfg.method, runner.arch, weights, runner.device, torch.__version__, cfg, protocol)
    return results


def evaluate_to_folder(cfg: EvalConfig, out_dir: str | Path, save_images: bool = False, progress: bool = False,
                       warn=None) -> tuple[Results, ReportPaths]:
    """``llve test``: evaluate, then write the results files, the resolved config and (optionally) the outputs.

    Output frames go to ``out_dir/images/<sequence>/<frame>.png``, a folder that appears only when complete.
    """
    out_dir = Path(out_dir)
    if save_images:
        with atomic_output(out_dir / "images", is_dir=True) as img_dir:
            def save(seq: str, file: str, img: np.ndarray) -> None:
                (img_dir / seq).mkdir(exist_ok=True)
                write_frame(img_dir / seq / (Path(file.replace("#", "_")).stem + ".png"), img)
            results = evaluate(cfg, save_images=save, warn=warn, progress=progress)
    else:
        results = evaluate(cfg, warn=warn, progress=progress)
    paths = write_results(out_dir, results)
    with atomic_output(paths.config) as tmp:
        tmp.write_text(to_yaml(cfg))
    return results, paths
