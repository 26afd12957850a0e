"""The ``llve`` command: parses arguments and calls the library. No logic of its own lives here.

Each subcommand is a pair: ``_add_<name>(subparsers)`` declares its arguments, ``_run_<name>(args)`` calls the
library. A :class:`~llve.core.errors.UserInputError` anywhere becomes ``llve: error: ...`` and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from llve import __version__
from llve.core.errors import LOG_LEVELS, UserInputError, set_log_level, warn

FILTER_SETTINGS = ("auto", "on", "off")  # --temporal-filter / --spatial-filter, as llve.stream.options.StreamOptions


def _add_enhance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enhance", help="brighten a dark video, frame folder or image",
                       description="Enhance a low-light video (any format PyAV decodes), a folder of frames "
                                   "(png/jpg/bmp/npy) or a single image. '-' reads a video from standard input "
                                   "(Y4M, NUT, Matroska) and writes one to standard output (Y4M unless -f names "
                                   "another container); progress and messages go to standard error.")
    p.add_argument("input", nargs="+", help="video file, frame folder or image (several: each in turn); - for "
                                            "standard input")
    p.add_argument("-o", "--output", help="output path of the same kind (default: next to the input, suffix "
                                          "_enhanced; standard output for standard input); - for standard output; "
                                          "with several inputs, a folder for all results")
    p.add_argument("-f", "--format", metavar="FMT", help="output container as FFmpeg names it (yuv4mpegpipe, "
                                                         "matroska, nut, ...); default: by the suffix, Y4M for -")
    p.add_argument("--weights", help="weights file (.safetensors, official .pth, or an llve checkpoint); "
                                     "default: the bundled weights")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--fp16", action="store_true", help="half-precision inference on CUDA")
    p.add_argument("--tile", type=int, default=0, metavar="SIZE",
                   help="bound memory by processing SIZE x SIZE windows (e.g. 512 for 4K); exact for the fast "
                        "network, slightly different for the official one")
    p.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"),
                   help="run the network with PyTorch or ONNX Runtime (.onnx weights imply onnxruntime)")
    p.add_argument("--components", metavar="DIR", help="also write the R (view-independent) and S "
                                                       "(view-dependent) streams into DIR")
    p.add_argument("--lossless", action="store_true", help="FFV1 video (in .mkv/.avi) or PNG frames")
    p.add_argument("--start", metavar="TIME", help="begin a video at TIME: seconds (12.5) or [HH:]MM:SS[.ms], as "
                                                   "ffmpeg -ss; the output starts at 0 with that part's audio")
    p.add_argument("--duration", metavar="TIME", help="enhance TIME of a video (as ffmpeg -t); default: to the end")
    p.add_argument("--exposure", default="auto", metavar="auto|VALUE",
                   help="target mean brightness of the output in (0, 1), e.g. 0.45; auto (default) picks it from "
                        "the scene and adapts slowly, like a camera")
    _add_noise_filters(p, "auto", "on: average each frame's R with the previous frame's along the motion where they "
                       "agree, removing noise that changes every frame; auto (default): on for weights with exposure "
                       "control, off for the paper's networks", "on: smooth R where the output varies by less than a "
                       "few noise deviations (an edge-preserving guided filter), removing blotches that stay in "
                       "place; auto (default): on for weights with exposure control, off for the paper's networks")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output (the input only if -o names it; a folder output only if it "
                        "holds nothing but frames)")
    _add_verbosity(p)
    b = p.add_argument_group("many inputs", "with several inputs and -o OUTDIR, OUTDIR/llve-manifest*.jsonl records "
                                            "each input; a rerun skips what is done and unchanged")
    b.add_argument("--shard", metavar="K/N", help="enhance only shard K of N (1-based, balanced by size, the same "
                                                  "on every machine); auto: from torchrun's RANK/WORLD_SIZE or "
                                                  "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT")
    b.add_argument("--engine", default="local", choices=("local", "ray"),
                   help="local: one process; ray: Ray workers, each loading the network once (llve[ray])")
    b.add_argument("--ray-address", metavar="ADDR", help="join this Ray cluster (auto, HOST:PORT, ray://HOST:10001); "
                                                         "default: a local Ray on this machine")
    b.add_argument("--cpus-per-task", type=float, default=1.0, help="CPUs per Ray worker (default 1)")
    b.add_argument("--gpus-per-task", type=float, default=0.0, help="GPUs per Ray worker (default 0)")
    p.set_defaults(func=_run_enhance)


def _add_verbosity(p: argparse.ArgumentParser) -> None:
    """-q / -qq / --log-level; main() turns them into args.bar (progress bars) and args.say (result lines)."""
    p.add_argument("-q", "--quiet", action="count", default=0,
                   help="-q: no progress bar (the result line stays); -qq: nothing but errors (--log-level error)")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="info (default): progress, results and "
                   "warnings; warning: warnings and errors; error: errors only")


def _add_noise_filters(p: argparse.ArgumentParser, default: str | None, temporal_help: str, spatial_help: str
                       ) -> None:
    """--temporal-filter, --spatial-filter and --denoise, as llve.stream.options.StreamOptions takes them."""
    p.add_argument("--temporal-filter", default=default, choices=FILTER_SETTINGS, help=temporal_help)
    p.add_argument("--spatial-filter", default=default, choices=FILTER_SETTINGS, help=spatial_help)
    p.add_argument("--denoise", type=float, default=1.0 if default else None, metavar="STRENGTH",
                   help="strength of both filters where they run: 1 (default) as measured in MODEL_CARD.md, 0 none, "
                        "2 twice as strong, at most 3")


def _filter_flags(args: argparse.Namespace) -> dict:
    """The noise-filter fields of StreamOptions that the command line sets (None: not given)."""
    given = {"temporal_filter": args.temporal_filter, "spatial_filter": args.spatial_filter, "denoise": args.denoise}
    return {k: v for k, v in given.items() if v is not None}


def _run_enhance(args: argparse.Namespace) -> None:
    from llve.batch.jobs import EnhancerConfig
    from llve.media.span import parse_span
    from llve.stream.options import StreamOptions

    stream = StreamOptions(tile=args.tile, precision="fp16" if args.fp16 else "fp32", exposure=args.exposure,
                           **_filter_flags(args))
    spec = EnhancerConfig(weights=args.weights, device=args.device, backend=args.backend, stream=stream)
    args.span = parse_span(args.start, args.duration)
    if args.engine != "ray" and (args.ray_address or args.cpus_per_task != 1.0 or args.gpus_per_task):
        raise UserInputError("--ray-address, --cpus-per-task and --gpus-per-task need --engine ray")
    if len(args.input) == 1 and args.shard is None and args.engine == "local":
        from llve.run.enhance import enhance_path

        enhancer = spec.build()
        out = enhance_path(enhancer, args.input[0], args.output, components_dir=args.components,
                           lossless=args.lossless, overwrite=args.overwrite, progress=args.bar,
                           fmt=args.format, span=args.span)
        if args.say:
            control, name = enhancer.exposure_controller, "standard output" if str(out) == "-" else out
            print(f"wrote {name} ({control.describe()})" if control else f"wrote {name}", file=sys.stderr)
    else:
        _run_batch(args, spec)


def _run_batch(args: argparse.Namespace, spec) -> None:
    from tqdm import tqdm

    from llve.batch.jobs import Shard, parse_shard, run_batch

    if "-" in args.input or args.output == "-" or args.format:
        raise UserInputError("standard input and output (-) and -f take one input, not several")
    if (args.shard or args.engine == "ray") and not args.output:
        raise UserInputError("--shard and --engine ray need -o OUTDIR (a folder every process sees)")
    engine = None
    if args.engine == "ray":
        from llve.batch.ray_engine import RayConfig, ray_engine

        engine = ray_engine(RayConfig(args.ray_address, args.cpus_per_task, args.gpus_per_task))

    def said(record) -> None:
        if record.status == "failed":
            tqdm.write(f"llve: warning: failed {record.input}: {record.error}", file=sys.stderr)
        elif record.status == "done" and args.say:
            tqdm.write(f"wrote {record.output}" + (f" ({record.exposure})" if record.exposure else ""),
                       file=sys.stderr)

    summary = run_batch(args.input, args.output, spec, shard=parse_shard(args.shard) if args.shard else Shard(),
                        engine=engine, overwrite=args.overwrite, components_dir=args.components,
                        lossless=args.lossless, progress=args.bar, on_record=said, span=args.span)
    if args.say:
        where = f"; manifest {summary.manifest}" if summary.manifest else ""
        print(f"{summary.count('done')} done, {summary.count('skipped')} skipped (done before, unchanged), "
              f"{summary.count('failed')} failed{where}", file=sys.stderr)
    if summary.failed:
        names = ", ".join(r.input for r in summary.failed)
        raise UserInputError(f"{len(summary.failed)} of {len(summary.records)} inputs failed: {names}")


def _add_manifest(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("manifest", help="summarise a batch's manifests (all shards together)",
                       description="Read every llve-manifest*.jsonl in OUTDIR (one per shard) and print, per "
                                   "input, its newest outcome: a summary and the failures with their reasons, or "
                                   "with --jsonl the merged records. Exit status 2 if any input failed.")
    p.add_argument("folder", metavar="OUTDIR", help="the -o folder of llve enhance")
    p.add_argument("--jsonl", action="store_true", help="print the newest record per input as JSON lines")
    p.set_defaults(func=_run_manifest)


def _run_manifest(args: argparse.Namespace) -> None:
    from llve.batch.jobs import manifest_report

    text, failed = manifest_report(args.folder, jsonl=args.jsonl)
    print(text)
    if failed:
        raise UserInputError(f"{len(failed)} inputs failed (see above)")


def _add_test(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="score a method on test sequences (official STCD protocol) and write a report",
                       description="Evaluate STCD or a classical baseline on SDSD, SMID, paired folders or videos "
                                   "(PSNR, SSIM, warping error, flicker), or on videos without ground truth "
                                   "(temporal metrics only). Writes metrics.json, metrics.csv and report.html.")
    p.add_argument("-c", "--config", required=True, help="evaluation config (YAML), e.g. configs/test_sdsd_indoor.yaml")
    p.add_argument("--weights", help="weights for --method stcd (.safetensors, official .pth or an llve checkpoint); "
                                     "default: the bundled weights")
    p.add_argument("--method", choices=("stcd", "identity", "gamma", "clahe", "gamma+nlm"),
                   help="override the config's method")
    p.add_argument("--exposure", metavar="auto|VALUE|gt", help="target mean output brightness for the network "
                   "(overrides the config; default auto); gt: each sequence at its ground truth's brightness, also "
                   "the target of gamma and gamma+nlm; other methods are scaled to it (GT-mean): restoration scored "
                   "at equal brightness")
    p.add_argument("--root", help="override the dataset root of the config")
    p.add_argument("--pairing", choices=("next", "self"), help="override the pairing: next (official) or self "
                                                                 "(each frame alone, the frame-by-frame reference)")
    _add_noise_filters(p, None, "the network's temporal filter (see llve enhance; overrides the config)",
                       "the network's spatial filter (see llve enhance; overrides the config)")
    p.add_argument("--out", help="results folder (default: results/<config name>_<method>)")
    p.add_argument("--save-images", action="store_true", help="also write every scored output frame as PNG")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N (overrides the config)")
    p.add_argument("--fp16", action="store_true", help="half-precision network on CUDA (overrides the config)")
    _add_verbosity(p)
    p.set_defaults(func=_run_test)


def _run_test(args: argparse.Namespace) -> None:
    from llve.core.config import replace
    from llve.evaluate.config import load_eval_config
    from llve.evaluate.protocol import evaluate_to_folder

    cfg = load_eval_config(args.config)
    overrides = {k: v for k, v in (("weights", args.weights), ("method", args.method), ("device", args.device))
                 if v is not None}
    if args.exposure is not None:
        overrides["gt_exposure"] = args.exposure == "gt"
    given = {"pairing": args.pairing, "precision": "fp16" if args.fp16 else None,
             "exposure": None if args.exposure == "gt" else args.exposure, **_filter_flags(args)}
    stream = replace(cfg.stream, **{k: v for k, v in given.items() if v is not None})
    cfg = replace(cfg, **overrides, stream=stream)
    if args.root is not None:
        cfg = replace(cfg, data=replace(cfg.data, root=args.root))
    out = Path(args.out or f"results/{Path(args.config).stem}_{cfg.method}")
    results, paths = evaluate_to_folder(cfg, out, save_images=args.save_images, progress=args.bar, warn=warn)
    if args.say:
        s = results.summary
        for key in ("psnr_mean_of_sequences", "psnr_mean_of_frames", "ssim_mean_of_sequences", "ssim_mean_of_frames",
                    "warp_error", "flicker", "exposure", "clipped_new", "noise", "relative_flicker",
                    "runtime_per_frame_s"):
            if getattr(s, key) is not None:
                print(f"{key:24s} {getattr(s, key):.6g}")
        print(f"wrote {paths.json}, {paths.csv.name}, {paths.html.name}", file=sys.stderr)


def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="make paired low-light training data from clean footage",
                       description="Darken clean videos, frame folders or still images with a simulated camera "
                                   "(exposure, colour cast, shot and read noise), writing OUT/low, OUT/high, OUT/meta.")
    p.add_argument("inputs", nargs="+", help="video files, frame folders, or images")
    p.add_argument("-o", "--output", required=True, help="output folder (generic paired layout)")
    p.add_argument("--stills", action="store_true", help="treat folders as collections of still images, "
                                                         "each made into a clip by random camera motion")
    p.add_argument("--still-frames", type=int, default=5, help="frames per still (default 5)")
    p.add_argument("--max-frames", type=int, default=0, help="at most this many frames per sequence (0 = all)")
    p.add_argument("--stride", type=int, default=1, help="keep every n-th frame")
    p.add_argument("--max-side", type=int, default=0, help="downscale so the longer side is at most this")
    p.add_argument("--exposure", type=float, nargs=2, metavar=("LO", "HI"), default=(1 / 20, 1 / 4),
                   help="range of the exposure scale (default 0.05 0.25)")
    p.add_argument("--seed", type=int, default=0)
    _add_verbosity(p)
    p.set_defaults(func=_run_synth)


def _run_synth(args: argparse.Namespace) -> None:
    from llve.data.camera import SynthRanges
    from llve.data.synth import SynthConfig, synthesize

    lo, hi = args.exposure
    if not 0 < lo <= hi <= 1 or args.stride < 1 or args.still_frames < 2:
        raise UserInputError("need 0 < exposure LO <= HI <= 1, --stride >= 1 and --still-frames >= 2")
    opts = SynthConfig(max_frames=args.max_frames, stride=args.stride, max_side=args.max_side,
                        still_frames=args.still_frames, seed=args.seed, ranges=SynthRanges(exposure=(lo, hi)))
    names = synthesize(args.inputs, args.output, opts, stills=args.stills, progress=args.bar)
    if args.say:
        print(f"wrote {len(names)} sequences to {args.output}", file=sys.stderr)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train an STCD-style network. Works as is under "
                                   "'torchrun --nproc_per_node=K -m llve train -c CONFIG'. Accepts our YAML "
                                   "configs (configs/*.yaml) and official STCD option files.")
    p.add_argument("-c", "--config", required=True, help="YAML config (ours, or an official options/train/*.yml)")
    p.add_argument("--resume", metavar="CKPT", help="checkpoint file, or a run folder (its newest checkpoint)")
    p.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> None:
    from llve.train.config import load_config
    from llve.train.loop import train

    primary = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 talks
    notify = (lambda msg: print(msg, file=sys.stderr)) if primary else (lambda msg: None)
    train(load_config(args.config, notify=notify), resume=args.resume)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure frames/s, GFLOPs, memory and utilisation of the networks",
                       description="Benchmark the networks side by side on this machine (an architecture gets "
                                   "random weights: its speed does not depend on them). Prints a table; --json "
                                   "writes every figure.")
    p.add_argument("--size", action="append", metavar="WxH", help="frame size, repeatable (default 960x512)")
    p.add_argument("--model", action="append", metavar="ARCH[:KEY=VALUE,...]|WEIGHTS|default",
                   help="network, repeatable: an architecture, config fields may follow (fast:refine=0); a "
                        "weights file; or default, the bundled weights (default: official and fast). Ratios are "
                        "to official, or to the first model")
    p.add_argument("--frames", type=int, default=20, help="at most this many timed frames per measurement")
    p.add_argument("--budget", type=float, default=25.0, metavar="S",
                   help="stop timing a measurement after S seconds once 2 frames are timed (default 25)")
    p.add_argument("--warmup", type=int, default=1, help="untimed frames before timing (default 1)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: one per core)")
    p.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"),
                   help="onnxruntime adds the exported streaming graph run by ONNX Runtime")
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"), help="autocast (CUDA only)")
    p.add_argument("--no-channels-last", action="store_true", help="keep the NCHW layout in streaming modes")
    p.add_argument("--compile", action="store_true", help="torch.compile the streaming methods")
    _add_noise_filters(p, "auto", "the stream's temporal filter, as llve enhance (default auto)",
                       "the stream's spatial filter, as llve enhance (default auto)")
    p.add_argument("--tile", type=int, default=0, metavar="SIZE", help="also measure tiled streaming")
    p.add_argument("--no-video", action="store_true", help="skip the decode+enhance+encode measurement")
    p.add_argument("--mode", action="append", help="measure only this mode, repeatable: pair, stream, "
                                                   "stream-tiled, stream-onnxruntime, video (default: all enabled)")
    p.add_argument("--rounds", type=int, default=1, help="measure everything N times, the models in alternating "
                   "order, and report medians: ratios that survive a machine whose speed drifts (default 1)")
    p.add_argument("--stages", action="store_true", help="time every stage of the video mode (decode, colour "
                   "conversion, network, calibration, filters, encode) and the helper threads' overlap")
    p.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    p.set_defaults(func=_run_bench)


def _run_bench(args: argparse.Namespace) -> None:
    from llve.bench.benchmark import BenchConfig, parse_size, run_bench
    from llve.bench.rows import write_report
    from llve.stream.options import StreamOptions

    settings = BenchConfig(
        sizes=tuple(parse_size(s) for s in (args.size or ["960x512"])),
        models=tuple(args.model or ("official", "fast")), frames=args.frames, budget_s=args.budget,
        warmup=args.warmup, device=args.device, threads=args.threads, backend=args.backend, tile=args.tile,
        video=not args.no_video, modes=tuple(args.mode or ()), rounds=args.rounds, stages=args.stages,
        stream=StreamOptions(channels_last=not args.no_channels_last, precision=args.precision,
                             compile=args.compile, **_filter_flags(args)))
    report = run_bench(settings)
    if args.json:
        write_report(report, args.json)
        print(f"wrote {args.json}", file=sys.stderr)


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a network's streaming step to ONNX",
                       description="Write the single-step streaming graph (frame t's cached features + frame t+1 -> "
                                   "frame t's Y, R, S + frame t+1's features) as ONNX, opset 18, dynamic size.")
    p.add_argument("--onnx", required=True, metavar="PATH", help="output .onnx file")
    p.add_argument("--model", choices=("official", "fast"), help="architecture (default: from --weights, else fast)")
    p.add_argument("--weights", help="weights to export (default: random weights, for speed tests only)")
    p.add_argument("--exporter", default="dynamo", choices=("dynamo", "torchscript"),
                   help="dynamo (torch.export, default) or the older, faster, deprecated torchscript tracer")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_run_export)


def _run_export(args: argparse.Namespace) -> None:
    from llve.models import arch_name, build_model
    from llve.models.weights import load_model
    from llve.run.export import export_onnx

    if Path(args.onnx).exists() and not args.overwrite:
        raise UserInputError(f"output exists: {args.onnx} (pass --overwrite to replace it)")
    if args.weights:
        model = load_model(args.weights)
        if args.model and arch_name(model) != args.model:
            raise UserInputError(f"--model {args.model} but {args.weights} holds a '{arch_name(model)}' network")
    else:
        warn("no --weights given: exporting random weights (useful for speed tests only)")
        model = build_model(args.model or "fast")
    export_onnx(model, args.onnx, exporter=args.exporter)
    print(f"wrote {args.onnx}", file=sys.stderr)


def _add_view(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="try the enhancement on a clip in the browser (needs llve[view])",
                       description="Serve a local web page: drop a dark video or image, compare before/after and the "
                                   "R and S components on a quick preview, then enhance the full file and download "
                                   "it. Needs the optional extra: pip install 'llve[view]'.")
    p.add_argument("--port", type=int, default=7860, help="port to serve on (default 7860)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--weights", help="weights file, as for llve enhance (default: the bundled weights)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--max-upload-mb", type=int, default=1000, metavar="MB", help="largest upload accepted "
                                                                               "(default 1000)")
    p.set_defaults(func=_run_view)


def _run_view(args: argparse.Namespace) -> None:
    from llve.view.app import LOCAL_HOSTS, ViewerConfig, serve

    if not 0 <= args.port < 65536 or args.max_upload_mb < 1:
        raise UserInputError("need 0 <= --port < 65536 and --max-upload-mb >= 1")
    if args.host not in LOCAL_HOSTS:
        warn(f"--host {args.host}: the viewer is reachable by other machines on the network; anyone who reaches it "
             "can upload files and run the network")
    serve(ViewerConfig(host=args.host, port=args.port, weights=args.weights, device=args.device,
                       max_upload_mb=args.max_upload_mb))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llve", description="Low-light video enhancement (STCD).")
    parser.add_argument("--version", action="version", version=f"llve {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_enhance, _add_manifest, _add_synth, _add_train, _add_test, _add_bench, _add_export,
                _add_view):
        add(sub)
    return parser


# The library names the argument that would resolve an error (UserInputError.setting); the user reads the flag.
FLAG_ADVICE = {
    "overwrite": "pass --overwrite to replace it",
    "output": "choose another output with -o",
    "components": "choose another --components folder",
    "device": "use --device cpu",
    "tile": "set by --tile",
    "frames": "set by --frames and --warmup",
    "resume": "pass --resume with that folder to continue it",
    "ray": "set by --cpus-per-task and --gpus-per-task",
    "onnx": "make one with `llve export --onnx`",
    "shard": "use --shard K/N",
    "port": "choose another --port",
    "stages": "measure the video mode with --stages (no --no-video; --mode video where --mode is given)",
}


# Where a subcommand names the same setting with another flag.
COMMAND_ADVICE = {
    "test": {"output": "choose another --out folder"},
    "export": {"output": "choose another --onnx path"},
}


def error_line(exc: UserInputError, command: str | None = None) -> str:
    """``llve: error: <the library's message>; <the flag of ``command`` that resolves it>``."""
    setting = exc.setting or ""
    advice = COMMAND_ADVICE.get(command or "", {}).get(setting) or FLAG_ADVICE.get(setting)
    return f"llve: error: {exc}" + (f"; {advice}" if advice else "")


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt  # so a `kill` cleans up temporary outputs exactly like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = "error" if getattr(args, "quiet", 0) >= 2 else getattr(args, "log_level", "info")
    args.bar, args.say = getattr(args, "quiet", 0) == 0 and level == "info", level == "info"  # -q: no bar
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)
        hangup = getattr(signal, "SIGHUP", None)  # the terminal closed (none on Windows)
        if hangup is not None and signal.getsignal(hangup) == signal.SIG_DFL:  # under nohup it stays ignored
            signal.signal(hangup, _interrupted)
    set_log_level(level)
    try:
        with warnings.catch_warnings():
            if level == "error":  # Python's warnings (PyTorch's, ...) too
                warnings.simplefilter("ignore")
            args.func(args)
    except UserInputError as exc:
        print(error_line(exc, args.command), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("llve: interrupted; no partial output was left under the final name", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the program reading standard output stopped (ffplay closed, head -c)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        print("llve: error: standard output was closed by the program reading it", file=sys.stderr)
        return 2
    finally:
        set_log_level("info")  # main() may be called again in this process
    return 0


if __name__ == "__main__":
    sys.exit(main())
