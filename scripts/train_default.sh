#!/usr/bin/env bash
# Reproduce the bundled default weights: prepare the data, fine-tune the previous weights in two stages, export the
# safetensors.
# Run from the repository root with ../shared present:  bash scripts/train_default.sh
set -euo pipefail
python scripts/prepare_default_data.py          # DAVIS at half size -> data/davis_half
llve train -c configs/default.yaml "$@"          # stage 1: from the previous weights, 4,000 iterations
llve train -c configs/default_stage2.yaml "$@"   # stage 2: from stage 1, 6,000 more at a lower learning rate
mkdir -p src/llve/weights && cp runs/default_stage2/model.safetensors src/llve/weights/default.safetensors
python scripts/plot_training.py runs/default/tb docs/default_training_loss.png
python scripts/plot_training.py runs/default_stage2/tb docs/default_stage2_training_loss.png
