"""How much of LOL's PSNR is the choice of brightness? A what-if for `auto` (MODEL_CARD, "LOL and auto").

Scores the bundled network on the LOL scene split with each pair asked for its ground truth's brightness times
FACTOR, clipped to [LO, HI] (issue 13's band for real footage is 80-170/255 = 0.314-0.667): an `auto` that guessed
the ground truth's brightness with that error. Patches `llve.evaluate.protocol._gt_brightness`, then runs `llve test`.

    python scripts/lol_exposure_sensitivity.py OUT [--factor 1.0] [--lo 0.314] [--hi 0.667]
"""
import argparse
import json

import numpy as np

import llve.evaluate.protocol as evaluate
from llve.cli import main

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("out")
parser.add_argument("--factor", type=float, default=1.0)
parser.add_argument("--lo", type=float, default=80 / 255)
parser.add_argument("--hi", type=float, default=170 / 255)
args = parser.parse_args()
ground_truth_brightness = evaluate._gt_brightness
evaluate._gt_brightness = lambda src: float(np.clip(ground_truth_brightness(src) * args.factor, args.lo, args.hi))
main(["test", "-c", "configs/test_lol_scenes.yaml", "--exposure", "gt", "--out", args.out, "--quiet"])
summary = json.load(open(f"{args.out}/metrics.json"))["summary"]
print(f"factor {args.factor} band [{args.lo:.3f}, {args.hi:.3f}]: PSNR {summary['psnr_mean_of_sequences']:.2f} dB, "
      f"SSIM {summary['ssim_mean_of_sequences']:.3f}")
