#!/usr/bin/env bash
# The model card's figures: every validation set that the default recipe never trains on, scored with `llve test`
# for the given weights (auto exposure, and fixed 0.3 / 0.6 for the control's accuracy) and for the classical
# anchors. Usage (repository root, ../shared present):
#   bash scripts/validate_default.sh [WEIGHTS] [OUT] [baselines|network|gt|all]
# (gt: the sets with ground truth scored at the ground truth's brightness, network and gamma+nlm)
set -euo pipefail
WEIGHTS=${1:-src/llve/weights/default.safetensors}
OUT=${2:-runs/validation}
WHAT=${3:-all}
[ -d data/val/lol_scenes ] || python scripts/make_validation_data.py
SETS="footage_davis footage_sice lol_scenes real_dark"
GT_SETS="footage_davis footage_sice lol_scenes"   # with ground truth: also scored at the ground truth's brightness
if [ "$WHAT" != network ] && [ "$WHAT" != gt ]; then
  for set in $SETS; do
    for method in gamma gamma+nlm; do
      llve test -c "configs/test_$set.yaml" --method "$method" --out "$OUT/${set}_$method" --quiet
    done
  done
fi
if [ "$WHAT" != network ] && [ "$WHAT" != baselines ]; then
  for set in $GT_SETS; do
    llve test -c "configs/test_$set.yaml" --method gamma+nlm --exposure gt --out "$OUT/${set}_gamma+nlm_gt" --quiet
    llve test -c "configs/test_$set.yaml" --weights "$WEIGHTS" --exposure gt --out "$OUT/${set}_stcd_gt" --quiet
  done
fi
if [ "$WHAT" != baselines ] && [ "$WHAT" != gt ]; then
  for set in $SETS; do
    llve test -c "configs/test_$set.yaml" --weights "$WEIGHTS" --out "$OUT/${set}_stcd" --quiet
  done
  for exposure in 0.3 0.6; do
    for set in footage_davis real_dark; do
      llve test -c "configs/test_$set.yaml" --weights "$WEIGHTS" --exposure "$exposure" \
        --out "$OUT/${set}_stcd_$exposure" --quiet
    done
  done
fi
python scripts/summarise_validation.py "$OUT"
