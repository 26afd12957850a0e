#!/usr/bin/env bash
# Reproduce the bundled default weights: prepare the data, fine-tune the previous weights in three stages, export the
# safetensors.
# Run from the repository root with ../shared present:  bash scripts/train_default.sh
set -euo pipefail
python scripts/prepare_default_data.py          # DAVIS at half size -> data/davis_half
llve train -c configs/default.yaml "$@"          # stage 1: from the previous weights, 4,000 iterations
llve train -c configs/default_stage2.yaml "$@"   # stage 2: from stage 1, 6,000 more at a lower learning rate
python scripts/make_validation_data.py           # the held-out sets the trainer's checks and llve test read
cp runs/default_stage2/model.safetensors weights/default_v2_fast.safetensors   # stage 3 starts from stage 2
llve train -c configs/guided.yaml "$@"           # stage 3: through the guided upsampling, 5,000 iterations
mkdir -p src/llve/weights
python scripts/make_guided_weights.py runs/guided/model.safetensors src/llve/weights/default.safetensors \
    --low-side 272 --detail 5
python scripts/plot_training.py runs/default/tb docs/default_training_loss.png
python scripts/plot_training.py runs/default_stage2/tb docs/default_stage2_training_loss.png
python scripts/plot_training.py runs/guided/tb docs/default_stage3_training_loss.png
