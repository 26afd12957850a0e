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


def _add_test(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="score a method on test sequences (official STCD protocol) and write a report",
                       description="Evaluate STCD or a classical baseline on SDSD, SMID, paired folders or videos "
                                   "(PSNR, SSIM, warping error, flicker), or on videos without ground truth "
                                   "(temporal metrics only). Writes metrics.json, metrics.csv and report.html.")
    p.add_argument("-c", "--config", required=True, help="evaluation config (YAML), e.g. configs/test_sdsd_indoor.yaml")
    p.add_argument("--weights", help="weights for --method stcd (.safetensors, official .pth or an llve checkpoint)")
    p.add_argument("--method", choices=("stcd", "identity", "gamma", "clahe"), help="override the config's method")
    p.add_argument("--root", help="override the dataset root of the config")
    p.add_argument("--out", help="results folder (default: results/<config name>_<method>)")
    p.add_argument("--save-images", action="store_true", help="also write every scored output frame as PNG")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N (overrides the config)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=_run_test)


def _run_test(args: argparse.Namespace) -> None:
    import dataclasses
    from pathlib import Path

    from llve.config import from_dict, load_yaml
    from llve.evaluate import EvalConfig
    from llve.report import evaluate_to_folder

    cfg = from_dict(EvalConfig, load_yaml(args.config))
    overrides = {k: v for k, v in (("weights", args.weights), ("method", args.method), ("device", args.device))
                 if v is not None}
    cfg = dataclasses.replace(cfg, **overrides)
    if args.root is not None:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=args.root))
    out = Path(args.out or f"results/{Path(args.config).stem}_{cfg.method}")
    results, paths = evaluate_to_folder(cfg, out, save_images=args.save_images, progress=not args.quiet,
                                        warn=lambda msg: print(f"llve: warning: {msg}", file=sys.stderr))
    if not args.quiet:
        s = results.summary
        for key in ("psnr_mean_of_sequences", "psnr_mean_of_frames", "ssim_mean_of_sequences", "ssim_mean_of_frames",
                    "warp_error", "flicker", "runtime_per_frame_s"):
            if s.get(key) is not None:
                print(f"{key:24s} {s[key]:.6g}")
        print(f"wrote {paths['json']}, {paths['csv'].name}, {paths['html'].name}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llve", description="Low-light video enhancement (STCD).")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_enhance, _add_test):
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
