"""Flags that several commands share: verbosity and the noise filters, declared once."""
from __future__ import annotations

import argparse

from llve.core.errors import LOG_LEVELS

FILTER_SETTINGS = ("auto", "on", "off")  # --temporal-filter / --spatial-filter, as llve.stream.options.StreamOptions


def add_verbosity(p: argparse.ArgumentParser) -> None:
    """-q / -qq / --log-level; main() turns them into args.bar (progress bars) and args.say (result lines)."""
    p.add_argument("-q", "--quiet", action="count", default=0,
                   help="-q: no progress bar (the result line stays); -qq: nothing but errors (--log-level error)")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="info (default): progress, results and "
                   "warnings; warning: warnings and errors; error: errors only")


def add_noise_filters(p: argparse.ArgumentParser, default: str | None, temporal_help: str, spatial_help: str
                      ) -> None:
    """--temporal-filter, --spatial-filter and --denoise, as llve.stream.options.StreamOptions takes them."""
    p.add_argument("--temporal-filter", default=default, choices=FILTER_SETTINGS, help=temporal_help)
    p.add_argument("--spatial-filter", default=default, choices=FILTER_SETTINGS, help=spatial_help)
    p.add_argument("--denoise", type=float, default=1.0 if default else None, metavar="STRENGTH",
                   help="strength of both filters where they run: 1 (default) as measured in MODEL_CARD.md, 0 none, "
                        "2 twice as strong, at most 3")


def filter_flags(args: argparse.Namespace) -> dict:
    """The noise-filter fields of StreamOptions that the command line sets (None: not given)."""
    given = {"temporal_filter": args.temporal_filter, "spatial_filter": args.spatial_filter, "denoise": args.denoise}
    return {k: v for k, v in given.items() if v is not None}

