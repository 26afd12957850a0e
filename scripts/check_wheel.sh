#!/usr/bin/env bash
# What a user gets from `pip install`: the wheel that `python -m build` makes, installed into a fresh virtual
# environment (PyTorch first, as the README says), runs `llve enhance` on the bundled sample from outside the source
# tree, with the weights inside the wheel. Run by .ci/run; about 2 minutes and 1 GB of temporary disk.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unset PYTHONPATH  # the fresh environment must not see the source tree

# Build from a copy of the tracked and new files, so the build leaves nothing in the working tree.
mkdir "$work/src"
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -t "$work/src")
python -m venv "$work/build-env"
"$work/build-env/bin/pip" install -q build
"$work/build-env/bin/python" -m build --wheel --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
wheel="$(ls "$work"/dist/llve-*.whl)"

python -m venv "$work/user-env"
"$work/user-env/bin/pip" install -q torch==2.13.0
"$work/user-env/bin/pip" install -q "$wheel"
cd "$work"
"$work/user-env/bin/llve" --version
"$work/user-env/bin/llve" enhance "$repo/examples/dark_tree.mp4" -o "$work/out.mp4" -q
"$work/user-env/bin/python" - "$work/out.mp4" <<'EOF'
import sys
from pathlib import Path

import av

import llve

assert Path(llve.__file__).is_relative_to(Path(sys.prefix)), f"llve imported from {llve.__file__}, not the wheel"
with av.open(sys.argv[1]) as video:
    frames = sum(1 for _ in video.decode(video=0))
assert frames == 68, f"{frames} frames, expected the sample's 68"
print(f"wheel check: {Path(sys.argv[1]).name} has {frames} frames, llve from {Path(llve.__file__).parent}")
EOF
