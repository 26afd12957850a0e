#!/usr/bin/env bash
# The GPU measurements in one run, for a machine with a CUDA GPU and PyTorch but possibly without PyAV.
#
#   bash scripts/gpu_check.sh OUTDIR          (repository root; results: OUTDIR/*.json, *.txt)
#
# It runs the CUDA tests, `llve bench` of the previous weights and the default at 1080p and 4K in fp32 and fp16
# (whole video path and the network's stream alone; medians of alternating rounds), the default's stage table at
# 1080p in fp16, and the sample clip enhanced in fp32 and fp16 (PSNR of one against the other).
# Where PyAV is missing and no network is reachable, carry its wheel in .whl/ (ignored by git), made beforehand on a
# machine with pip:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 -d .whl av==18.1.0
# Settings for a dry run elsewhere: DEVICE (cuda), SIZES ("1920x1080 3840x2160"), PRECISIONS ("fp32 fp16"),
# FRAMES (24), ROUNDS (2).
set -euo pipefail
mkdir -p "${1:?usage: bash scripts/gpu_check.sh OUTDIR}"
out=$(cd "$1" && pwd)
device=${DEVICE:-cuda}
sizes=${SIZES:-1920x1080 3840x2160}
precisions=${PRECISIONS:-fp32 fp16}
frames=${FRAMES:-24}
rounds=${ROUNDS:-2}
cd "$(dirname "$0")/.."

if ! python3 -c "import av" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/llve-site .whl/*.whl
    export PYTHONPATH=/tmp/llve-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1

python3 - <<'EOF' | tee "$out/machine.txt"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print(torch.cuda.get_device_name(0))
EOF

if [ "$device" = cuda ]; then
    python3 -m pytest -q -p no:cacheprovider -m cuda tests/inference 2>&1 | tail -5 | tee "$out/cuda_tests.txt"
fi

size_flags=$(for s in $sizes; do printf -- "--size %s " "$s"; done)
for precision in $precisions; do
    # shellcheck disable=SC2086  # one flag per size
    python3 -m llve bench --device "$device" --precision "$precision" --model weights/default_v1.safetensors \
        --model default $size_flags --mode video --mode stream --rounds "$rounds" --frames "$frames" \
        --json "$out/bench_$precision.json" 2>&1 | tee "$out/bench_$precision.txt"
done
last=${precisions##* }
python3 -m llve bench --device "$device" --precision "$last" --model default --size "${sizes%% *}" --mode video \
    --frames "$frames" --stages --json "$out/stages_$last.json" 2>&1 | tee "$out/stages_$last.txt"

for precision in $precisions; do
    half=$([ "$precision" = fp16 ] && echo --fp16 || true)
    # shellcheck disable=SC2086  # --fp16 or nothing
    python3 -m llve enhance examples/dark_tree.mp4 -o "$out/sample_$precision.mkv" --lossless --device "$device" \
        $half --overwrite -q
done
python3 - "$out" $precisions <<'EOF' | tee "$out/sample_psnr.txt"
import sys
from pathlib import Path

import numpy as np

from llve.evaluate.metrics import psnr
from llve.media.video import read_video

out, precisions = Path(sys.argv[1]), sys.argv[2:]
clips = {p: [rgb for rgb, _ in read_video(out / f"sample_{p}.mkv")] for p in precisions}
first = precisions[0]
for p in precisions[1:]:
    values = [psnr(a, b) for a, b in zip(clips[first], clips[p])]
    print(f"sample clip, {p} against {first}: {len(values)} frames, PSNR mean {np.mean(values):.2f} dB, "
          f"min {np.min(values):.2f} dB")
EOF
rm -f "$out"/sample_*.mkv
