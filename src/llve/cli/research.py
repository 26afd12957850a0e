"""``llve test``, ``llve synth`` and ``llve train``: the researcher's commands."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from llve.cli.flags import add_noise_filters, add_verbosity, filter_flags
from llve.core.errors import UserInputError, warn


def add_test(sub: argparse._SubParsersAction) -> None:
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
    add_noise_filters(p, None, "the network's temporal filter (see llve enhance; overrides the config)",
                       "the network's spatial filter (see llve enhance; overrides the config)")
    p.add_argument("--out", help="results folder (default: results/<config name>_<method>)")
    p.add_argument("--save-images", action="store_true", help="also write every scored output frame as PNG")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N (overrides the config)")
    p.add_argument("--fp16", action="store_true", help="half-precision network on CUDA (overrides the config)")
    add_verbosity(p)
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
             "exposure": None if args.exposure == "gt" else args.exposure, **filter_flags(args)}
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


def add_synth(sub: argparse._SubParsersAction) -> None:
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
    add_verbosity(p)
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


def add_train(sub: argparse._SubParsersAction) -> None:
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

