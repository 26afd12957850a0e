"""``llve enhance`` (one input, or a batch) and ``llve manifest``: the practitioner's commands."""
from __future__ import annotations

import argparse
import sys

from llve.cli.flags import add_noise_filters, add_verbosity, filter_flags
from llve.core.errors import UserInputError


def add_enhance(sub: argparse._SubParsersAction) -> None:
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
    add_noise_filters(p, "auto", "on: average each frame's R with the previous frame's along the motion where they "
                       "agree, removing noise that changes every frame; auto (default): on for weights with exposure "
                       "control, off for the paper's networks", "on: smooth R where the output varies by less than a "
                       "few noise deviations (an edge-preserving guided filter), removing blotches that stay in "
                       "place; auto (default): on for weights with exposure control, off for the paper's networks")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output (the input only if -o names it; a folder output only if it "
                        "holds nothing but frames)")
    add_verbosity(p)
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


def _run_enhance(args: argparse.Namespace) -> None:
    from llve.batch.jobs import EnhancerConfig
    from llve.media.span import parse_span
    from llve.stream.options import StreamOptions

    stream = StreamOptions(tile=args.tile, precision="fp16" if args.fp16 else "fp32", exposure=args.exposure,
                           **filter_flags(args))
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


def add_manifest(sub: argparse._SubParsersAction) -> None:
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

