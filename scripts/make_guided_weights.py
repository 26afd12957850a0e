"""Write a fast network's weights as a guided network (``llve.models.guided``): the same parameters, with the
low-resolution side and the detail strength of the guided filter in the file's metadata.

    python scripts/make_guided_weights.py runs/guided/model.safetensors src/llve/weights/default.safetensors \\
        --low-side 272 --detail 5
"""
from __future__ import annotations

import argparse
import dataclasses

from llve.models import build_model
from llve.models.weights import load_model, save_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="weights of a fast or guided network (.safetensors, or a training checkpoint)")
    parser.add_argument("target", help="output .safetensors")
    parser.add_argument("--low-side", type=int, default=540)
    parser.add_argument("--detail", type=float, default=4.0)
    args = parser.parse_args()
    fast = load_model(args.source)
    config = {**dataclasses.asdict(fast.cfg), "low_side": args.low_side, "detail": args.detail}  # guided sources too
    guided = build_model("guided", **config)
    guided.load_state_dict(fast.state_dict())
    save_model(guided, args.target)
    print(f"wrote {args.target}: {guided.cfg}")


if __name__ == "__main__":
    main()
