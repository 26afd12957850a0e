#!/usr/bin/env bash
# Reproduce the bundled default weights: prepare the data, fine-tune the previous weights, export the safetensors.
# Run from the repository root with ../shared present:  bash scripts/train_default.sh
set -euo pipefail
python scripts/prepare_default_data.py          # DAVIS at half size -> data/davis_half
llve train -c configs/default.yaml "$@"
mkdir -p src/llve/weights && cp runs/default/model.safetensors src/llve/weights/default.safetensors
python scripts/plot_training.py runs/default/tb docs/default_training_loss.png
