#!/usr/bin/env bash
# Reproduce the bundled default weights: synthesise the training data, train, export the safetensors.
# Run from the repository root with ../shared present:  bash scripts/train_default.sh
set -euo pipefail
SHARED=../shared/data
SYN=data/default_synth
if [ ! -d "$SYN/low" ]; then
  llve synth "$SHARED/clean_video/vtest.avi" --stride 5 --max-frames 60 -o "$SYN" --seed 1 --quiet
  llve synth "$SHARED/clean_video/tree.avi" --stride 2 -o "$SYN" --seed 2 --quiet
  llve synth "$SHARED/clean_video/realbasicvsr_demo_000" "$SHARED/clean_video/sintel_demo" -o "$SYN" --seed 3 --quiet
  llve synth "$SHARED/clean_images/kodak24" --stills --still-frames 3 -o "$SYN" --seed 4 --quiet
fi
llve train -c configs/default.yaml "$@"
mkdir -p src/llve/weights && cp runs/default/model.safetensors src/llve/weights/default.safetensors
python scripts/plot_training.py runs/default/tb docs/default_training_loss.png
