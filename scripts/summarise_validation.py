"""One table of the validation runs under a folder (each a `llve test` results folder with metrics.json)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = ("psnr_mean_of_sequences", "ssim_mean_of_sequences", "exposure_min", "exposure_max", "clipped_new_max",
           "noise", "relative_flicker_max", "warp_error")


def fmt(v) -> str:
    return "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


def main(root: str) -> None:
    rows = []
    for path in sorted(Path(root).glob("*/metrics.json")):
        s = json.loads(path.read_text())["summary"]
        rows.append([path.parent.name] + [fmt(s.get(c)) for c in COLUMNS])
    print("| run | " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * (len(COLUMNS) + 1))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/validation")
