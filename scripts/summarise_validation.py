"""The validation runs under a folder (each a `llve test` results folder with metrics.json) as one table, and the
LOL runs once more on the pairs that neither the bundled weights nor the previous ones were trained on: the
scene split's held-out pairs (configs/default.yaml) that were also in the previous recipe's held-out files
(configs/lol_holdout.txt), MODEL_CARD's "unseen by both" column.

    python scripts/summarise_validation.py runs/val_v8
"""
from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

import yaml

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
    unseen = pairs_unseen_by_both()
    lol_runs = sorted(Path(root).glob("*lol_scenes*/metrics.csv"))
    if lol_runs:
        print(f"\nLOL, the {len(unseen)} pairs unseen by both networks (PSNR / SSIM):")
        for path in lol_runs:
            chosen = [r for r in csv.DictReader(path.open()) if r["sequence"] in unseen]
            print(f"| {path.parent.name} | {statistics.mean(float(r['psnr']) for r in chosen):.2f} / "
                  f"{statistics.mean(float(r['ssim']) for r in chosen):.3f} | {len(chosen)} pairs |")


def pairs_unseen_by_both() -> set[str]:
    recipe = yaml.safe_load(Path("configs/default.yaml").read_text())
    scene_split = set(next(s for s in recipe["data"]["train"] if s["name"] == "lol")["test"])
    lines = Path("configs/lol_holdout.txt").read_text().splitlines()
    by_file = {line.strip().rsplit(".", 1)[0] for line in lines if line.strip() and not line.startswith("#")}
    return scene_split & by_file


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/validation")
