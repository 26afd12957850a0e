"""``llve bench``: frames/s, GFLOPs, memory and hardware utilisation of the networks, side by side, in one run.

Every figure comes from this run on this machine: the dense matmul rate is measured next to the networks so
utilisation (achieved GFLOP/s over matmul GFLOP/s) says how close a network gets to what the hardware can do.
Timings are medians over frames after warm-up; on CUDA each frame ends with a synchronize. A network named by
its architecture (``fast``, ``fast:refine=0``) gets random weights: its speed depends on the architecture and its
config, not on the weight values. The one exception is exposure control: a stream's first frame is decoded again
until its brightness lands on the target, once for trained weights, three times for random ones, which shows in
the short clip of the ``video`` mode. Name a weights file, or ``default`` for the bundled weights, to measure a
network as it is used. Modes:

* ``pair``: the plain two-frame ``forward`` per output frame, fp32, no caching (what a naive loop does);
* ``stream``: what ``llve enhance`` runs per frame, minus file I/O - :class:`~llve.run.enhancer.Enhancer`'s stream
  (:mod:`llve.stream.pipeline`: each frame encoded once and paired with its successor, uint8 in and out) with the
  ``stream`` options (inference mode, channels-last, autocast);
* ``stream-tiled``: ``stream`` as ``llve enhance --tile`` runs it (bounded memory for large frames);
* ``stream-onnxruntime``: ``stream`` as ``llve enhance --backend onnxruntime`` runs it (the exported graph);
* ``video`` (``video-tiled`` with a tile size): ``llve enhance`` on a synthetic H.264 clip - decode, streaming
  enhancement, encode - timed end to end (model loading excluded); with ``stages``, stage by stage
  (:mod:`llve.bench.video`).
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from llve.bench.measure import PeakRSS, describe_device, gc_and_reset, matmul_gflops
from llve.bench.rows import HEADER, Figures, Row, format_row, median_rows, median_speedups, speedups
from llve.bench.video import StageTable, format_stages, stages_json, video_run
from llve.core.device import resolve_device, synchronize
from llve.core.errors import UserInputError
from llve.core.image import tensor_to_uint8
from llve.models import build_model
from llve.models.weights import load_model, network_of, read_weights
from llve.run.enhancer import DEFAULT_WEIGHTS, Enhancer
from llve.stream.options import StreamOptions
from llve.stream.pipeline import PairStep


@dataclass(frozen=True)
class BenchConfig:
    """Args:
        sizes: (height, width) frame sizes to measure.
        models: architecture names with their default configs, ``arch:key=value,...`` to change some config
            fields (``fast:refine=0``), weights files, or ``default`` (the bundled weights); see
            :func:`build_from_spec`. Ratios compare each model with ``official``, or with the first model
            where ``official`` is not measured.
        frames: at most this many timed frames per measurement; at least ``min_frames`` (or ``frames``).
        budget_s: stop timing a measurement after this many seconds (once ``min_frames`` are timed).
        warmup: untimed frames before timing (allocator, oneDNN kernel selection, cudnn autotune).
        device: ``auto``, ``cpu``, ``cuda``...
        backend: ``torch``, or ``onnxruntime`` to add the ONNX Runtime streaming mode.
        stream: stream options (channels-last, precision, compile...) of the ``stream`` and ``video`` modes.
        tile: tile size for the ``stream-tiled`` mode (0: not measured).
        video: also time the whole video path (decode + enhance + encode).
        threads: CPU threads for PyTorch and ONNX Runtime (0: PyTorch's default, one per core).
        modes: measure only these modes (empty: every mode the other settings enable), e.g. to skip the
            untiled modes of a frame too large for memory.
        rounds: measure everything this many times, the models in turn in alternating order (A B, B A, ...), and
            report each figure's median over the rounds: on a shared or throttling machine, speed drifts during a
            run, and measuring one model after the other turns that drift into their ratio.
        stages: time every stage of the video mode's whole path (:mod:`llve.bench.video`).
    """

    sizes: tuple[tuple[int, int], ...] = ((512, 960),)
    models: tuple[str, ...] = ("official", "fast")
    frames: int = 20
    min_frames: int = 2
    budget_s: float = 25.0
    warmup: int = 1
    device: str = "auto"
    backend: str = "torch"
    stream: StreamOptions = StreamOptions()
    tile: int = 0
    video: bool = True
    threads: int = 0
    modes: tuple[str, ...] = ()
    rounds: int = 1
    stages: bool = False


def parse_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (as video tools write it) -> (height, width)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserInputError(f"bad size '{text}': expected WIDTHxHEIGHT, e.g. 960x512") from None
    if w < 1 or h < 1:
        raise UserInputError(f"bad size '{text}': width and height must be positive")
    return h, w


WEIGHTS_SUFFIXES = (".safetensors", ".pth", ".pt")


def _weights_path(spec: str) -> Path | None:
    """The weights file a model spec names (``default``: the bundled one), or None for an architecture spec."""
    if spec == "default":
        return DEFAULT_WEIGHTS
    return Path(spec) if spec.lower().endswith(WEIGHTS_SUFFIXES) else None


def build_from_spec(spec: str, weights: bool = True) -> torch.nn.Module:
    """``fast`` or ``fast:refine=0,width=48`` -> that network with random weights (values read as YAML scalars;
    errors name the spec); a weights file or ``default`` -> that network with its weights (``weights=False``: the
    same architecture and config, weights not loaded, e.g. on the meta device)."""
    path = _weights_path(spec)
    if path is not None:
        if weights:
            return load_model(path)
        arch, config = network_of(path, *read_weights(path))
        return build_model(arch, **config)
    arch, _, fields = spec.partition(":")
    config = {}
    for field in filter(None, fields.split(",")):
        key, sep, value = field.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"bad model '{spec}': expected ARCH, ARCH:KEY=VALUE,..., a weights file or "
                                 "default, e.g. fast:refine=0")
        config[key.strip()] = yaml.safe_load(value)
    return build_model(arch.strip(), **config)


def count_gflops(arch: str, height: int, width: int) -> dict[str, float]:
    """FLOPs of one streamed frame (encode + decompose_first) and of one pair forward, counted on the meta
    device: exact operator counts from ``torch.utils.flop_counter`` without computing anything."""
    with torch.device("meta"):
        model = build_from_spec(arch, weights=False).eval()
        x = torch.empty(1, 3, height, width)
        step = PairStep(model)
        partner = step.hold(x)
        with FlopCounterMode(display=False) as stream:
            step.decompose(step.hold(x), partner)
        with FlopCounterMode(display=False) as pair:
            model(x, x)
    return {"stream": stream.get_total_flops() / 1e9, "pair": pair.get_total_flops() / 1e9}


def time_frames(step: Callable[[int], object], device: torch.device, s: BenchConfig) -> tuple[float, int]:
    """Median seconds per call of ``step(frame_index)`` after warm-up, and the calls timed within the frame count
    and time budget."""
    for i in range(s.warmup):
        step(i)
    synchronize(device)
    times: list[float] = []
    begin = time.perf_counter()
    # Stop before a frame that would end past the budget (predicted by the median so far), never below min_frames.
    while len(times) < s.frames and (len(times) < min(s.min_frames, s.frames) or
                                     time.perf_counter() - begin + statistics.median(times) <= s.budget_s):
        start = time.perf_counter()
        step(s.warmup + len(times))
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times)


def _measure(run: Callable[[], tuple[float, int]], device: torch.device) -> Figures:
    """Speed and memory figures of ``run() -> (seconds per frame, frames)`` in a fresh memory window (what ``run``
    builds counts)."""
    gc_and_reset(device)
    with PeakRSS() as rss:
        before = rss.peak_bytes
        seconds_per_frame, frames = run()
    return Figures(1 / seconds_per_frame, 1000 * seconds_per_frame, frames, before / 2**20, rss.peak_bytes / 2**20,
                   torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None)


def _modes(arch: str, frames, device: torch.device, s: BenchConfig) -> dict[str, Callable[[], tuple[float, int]]]:
    """Mode name -> its timed run; each builds its own model (inside the memory window, so model and cache count,
    and layouts never leak between modes)."""
    def fresh():
        torch.manual_seed(0)
        return build_from_spec(arch)

    def pair() -> tuple[float, int]:
        model, on_device = fresh().eval().to(device), [f.to(device) for f in frames]

        def step(i: int):
            with torch.no_grad():
                return model(on_device[i % len(on_device)], on_device[(i + 1) % len(on_device)]).y1
        return time_frames(step, device, s)

    def user_path(options: StreamOptions, backend: str = "torch") -> tuple[float, int]:
        # What `llve enhance` runs per frame, minus file I/O: the enhancer's stream over uint8 frames (conversion,
        # padding, encoding once, pairing with the successor, cropping, back to uint8), one result per call.
        results = Enhancer(device=str(device), options=options, model=fresh(), backend=backend).enhance_frames(
            itertools.cycle([tensor_to_uint8(f) for f in frames]))
        return time_frames(lambda i: next(results), device, s)

    modes = {"pair": pair, "stream": lambda: user_path(s.stream)}
    if s.tile:
        modes["stream-tiled"] = lambda: user_path(dataclasses.replace(s.stream, tile=s.tile))
    if s.backend == "onnxruntime":
        modes["stream-onnxruntime"] = lambda: user_path(StreamOptions(), backend="onnxruntime")
    return modes


KNOWN_MODES = ("pair", "stream", "stream-tiled", "stream-onnxruntime", "video")


def _networks(s: BenchConfig) -> dict[str, torch.nn.Module]:
    """Every model of ``s``, built before anything is timed (bad names and configs fail first), and ``s`` checked."""
    if set(s.modes) - set(KNOWN_MODES):
        raise UserInputError(f"unknown mode '{sorted(set(s.modes) - set(KNOWN_MODES))[0]}' "
                             f"(choose from {', '.join(sorted(KNOWN_MODES))})")
    networks = {spec: build_from_spec(spec) for spec in s.models}
    if s.backend not in ("torch", "onnxruntime"):
        raise UserInputError(f"unknown backend '{s.backend}' (choose torch or onnxruntime)")
    if s.frames < 1 or s.min_frames < 1 or s.warmup < 0 or s.rounds < 1:
        raise UserInputError("frames, min_frames and rounds must be at least 1 and warmup at least 0",
                             setting="frames")
    if s.stages and (not s.video or s.modes and "video" not in s.modes):
        raise UserInputError("stages are those of the video mode, which these settings leave out", setting="stages")
    return networks


def run_bench(s: BenchConfig, log: Callable[[str], None] = print) -> dict:
    """Measure every model in every mode at every size; return the report (see docs/speed.md for the fields)."""
    networks = _networks(s)
    device = resolve_device(s.device)
    if s.stream.precision != "fp32" and device.type != "cuda":
        raise UserInputError(f"{s.stream.precision} inference needs a CUDA device (got {device})")
    if s.threads:
        torch.set_num_threads(s.threads)
    log(f"device {describe_device(device)}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    matmul = matmul_gflops(device)
    log(f"dense fp32 matmul: {matmul:.1f} GFLOP/s")
    log(HEADER)
    report = {
        "torch": torch.__version__, "device": describe_device(device), "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "backend": s.backend, "runtime": dataclasses.asdict(s.stream), "matmul_gflops": matmul,
        "settings": {k: getattr(s, k) for k in ("frames", "min_frames", "budget_s", "warmup", "tile", "rounds")},
        "models": {arch: {"params": sum(p.numel() for p in net.parameters()),
                          "weights_mb": sum(p.numel() for p in net.parameters()) * 4 / 1e6,
                          "config": dataclasses.asdict(net.cfg)} for arch, net in networks.items()},
        "results": [], "speedups": [], **({"stages": []} if s.stages else {}),
    }
    measured: list[Row] = []  # every round's rows; report["results"] holds one row per figure
    reference = "official" if "official" in s.models else s.models[0]
    with tempfile.TemporaryDirectory(prefix="llve-bench-") as tmp:
        for height, width in s.sizes:
            tables: list[StageTable] = []
            rows = _measure_size(s, height, width, device, matmul, Path(tmp), log, tables)
            report.get("stages", []).extend(stages_json(table) for table in tables)
            measured += rows
            chosen = median_rows(rows)
            report["results"] += [row.to_json() for row in chosen]
            if s.rounds > 1:
                log(f"medians over {s.rounds} rounds:")
                for row in chosen:
                    log(format_row(row))
            per_round = [speedups([r for r in rows if r.round == k], reference) for k in range(s.rounds)]
            report["speedups"] += [dataclasses.asdict(line) for line in median_speedups(per_round)]
    if s.rounds > 1:
        report["rounds"] = [row.to_json() for row in measured]
    for line in report["speedups"]:
        log(f"{line['size']}: {line['what']} = {line['ratio']:.3g}x")
    return report


def _measure_size(s: BenchConfig, height: int, width: int, device: torch.device, matmul: float, workdir: Path,
                  log: Callable[[str], None], tables: list[StageTable]) -> list[Row]:
    """Every round of every model in every mode at one frame size, the models' order alternating by round; with
    ``s.stages``, each video measurement's stage table goes to ``tables``."""
    g, size = torch.Generator().manual_seed(0), f"{width}x{height}"
    # A few distinct low-light-like frames (values in [0, 0.2]); cycled so no result is ever reused.
    frames = [torch.rand(1, 3, height, width, generator=g) * 0.2 for _ in range(4)]
    gflops = {arch: count_gflops(arch, height, width) for arch in s.models}
    rows: list[Row] = []

    def add(arch: str, mode: str, figures: Figures, round_: int) -> None:
        rows.append(Row.of(arch, size, mode, figures, gflops[arch]["pair" if mode == "pair" else "stream"], matmul,
                           round_))
        log(format_row(rows[-1]) + (f"   (round {round_ + 1}/{s.rounds})" if s.rounds > 1 else ""))

    for round_ in range(s.rounds):
        for arch in (s.models if round_ % 2 == 0 else s.models[::-1]):
            for mode, run in _modes(arch, frames, device, s).items():
                if not s.modes or mode in s.modes:
                    add(arch, mode, _measure(run, device), round_)
            if s.video and (not s.modes or "video" in s.modes):
                # As many frames as the time budget allows at the streaming rate just measured (every frame of
                # the clip costs one streamed frame: the last one is paired with itself); without one, `frames`.
                streamed = [r.ms_per_frame for r in rows if r.model == arch and r.mode.startswith("stream")]
                floor = min(s.min_frames, s.frames)
                n = max(floor, min(s.frames, int(1000 * s.budget_s / streamed[-1]))) if streamed else s.frames
                torch.manual_seed(0)
                video = video_run(build_from_spec(arch), device, dataclasses.replace(s.stream, tile=s.tile), height,
                                  width, n, workdir, s.stages, (arch, size, round_))
                add(arch, "video-tiled" if s.tile else "video", _measure(video, device), round_)
                if video.table is not None:
                    tables.append(video.table)
                    format_stages(video.table, log)
    return rows
