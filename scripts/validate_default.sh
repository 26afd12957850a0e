#!/usr/bin/env bash
# The model card's figures: the 36 held-out real pairs (configs/lol_holdout.txt) scored with `llve test` for the
# default weights and the classical baselines, and temporal metrics on ../shared/data/real_dark.
# Usage (repository root, ../shared present):  bash scripts/validate_default.sh [WEIGHTS] [OUT]
set -euo pipefail
WEIGHTS=${1:-src/llve/weights/default.safetensors}
OUT=${2:-runs/validation}
HOLD=data/lol_holdout
if [ ! -d "$HOLD/low" ]; then  # one single-frame sequence per held-out pair (a still is its own partner)
  for name in $(grep -v '^#' configs/lol_holdout.txt); do
    for side in low high; do
      mkdir -p "$HOLD/$side/${name%.png}"
      ln -sf "$(realpath ../shared/data/lol_pairs/$side/$name)" "$HOLD/$side/${name%.png}/0.png"
    done
  done
fi
for method in identity gamma clahe; do
  llve test -c configs/test_lol_holdout.yaml --method "$method" --out "$OUT/lol_$method"
done
llve test -c configs/test_lol_holdout.yaml --weights "$WEIGHTS" --out "$OUT/lol_stcd"
for pairing in next self; do
  llve test -c configs/test_real_dark.yaml --weights "$WEIGHTS" --pairing "$pairing" --out "$OUT/real_dark_$pairing"
done
