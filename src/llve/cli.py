"""The ``llve`` command: parses arguments and calls the library. No logic of its own lives here.

Each subcommand is a pair: ``_add_<name>(subparsers)`` declares its arguments, ``_run_<name>(args)`` calls the
library. A :class:`~llve.errors.UserInputError` anywhere becomes ``llve: error: ...`` and exit status 2.
"""
from __future__ import annotations

import argparse
import sys

from llve.errors import UserInputError


def _add_enhance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("enhance", help="brighten a dark video, frame folder or image",
                       description="Enhance a low-light video (any format PyAV decodes), a folder of frames "
                                   "(png/jpg/bmp/npy) or a single image.")
    p.add_argument("input", help="video file, frame folder or image")
    p.add_argument("-o", "--output", help="output path of the same kind (default: next to the input, suffix _enhanced)")
    p.add_argument("--weights", help="weights file (.safetensors, official .pth, or an llve checkpoint); "
                                     "default: the bundled weights")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--fp16", action="store_true", help="half-precision inference on CUDA")
    p.add_argument("--components", metavar="DIR", help="also write the R (view-independent) and S "
                                                       "(view-dependent) streams into DIR")
    p.add_argument("--lossless", action="store_true", help="FFV1 video (in .mkv/.avi) or PNG frames")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output (never the input)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_enhance)


def _run_enhance(args: argparse.Namespace) -> None:
    from llve.inference import Enhancer, enhance_path

    enhancer = Enhancer(weights=args.weights, device=args.device, fp16=args.fp16)
    out = enhance_path(enhancer, args.input, args.output, components_dir=args.components,
                       lossless=args.lossless, overwrite=args.overwrite, progress=not args.quiet)
    if not args.quiet:
        print(f"wrote {out}", file=sys.stderr)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train an STCD-style network. Works as is under "
                                   "'torchrun --nproc_per_node=K -m llve train -c CONFIG'. Accepts our YAML "
                                   "configs (configs/*.yaml) and official STCD option files.")
    p.add_argument("-c", "--config", required=True, help="YAML config (ours, or an official options/train/*.yml)")
    p.add_argument("--resume", metavar="CKPT", help="checkpoint file, or a run folder (its newest checkpoint)")
    p.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> None:
    from llve.train import train
    from llve.train_config import load_config

    import os

    primary = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 talks
    notify = (lambda msg: print(msg, file=sys.stderr)) if primary else (lambda msg: None)
    train(load_config(args.config, notify=notify), resume=args.resume)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llve", description="Low-light video enhancement (STCD).")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_enhance, _add_train):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserInputError as exc:
        print(f"llve: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("llve: interrupted; no partial output was left under the final name", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
