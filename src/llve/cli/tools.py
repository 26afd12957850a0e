"""``llve bench``, ``llve export`` and ``llve view``: measuring, exporting and trying the networks."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llve.cli.flags import add_noise_filters, filter_flags
from llve.core.errors import UserInputError, warn


def add_bench(sub: argparse._SubParsersAction) -> None:
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
    add_noise_filters(p, "auto", "the stream's temporal filter, as llve enhance (default auto)",
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
                             compile=args.compile, **filter_flags(args)))
    report = run_bench(settings)
    if args.json:
        write_report(report, args.json)
        print(f"wrote {args.json}", file=sys.stderr)


def add_export(sub: argparse._SubParsersAction) -> None:
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


def add_view(sub: argparse._SubParsersAction) -> None:
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

