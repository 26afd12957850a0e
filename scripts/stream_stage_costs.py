"""Where a streamed frame's time goes: encode, decompose, highlight roll-off and the two noise filters, per model.

Wraps those stages of ``llve.stream.pipeline`` with timers and streams noise frames (values in [0, 0.2]) through
:class:`llve.run.enhancer.Enhancer`, as ``llve bench --mode stream`` does. Models as ``llve bench --model`` takes them.

    python scripts/stream_stage_costs.py default weights/default_v1.safetensors [--size 960x512] [--frames 30]
"""
from __future__ import annotations

import argparse
import collections
import itertools
import time

import numpy as np
import torch

import llve.stream.pipeline as streaming
from llve.bench.benchmark import build_from_spec, parse_size
from llve.core.image import tensor_to_uint8
from llve.run.enhancer import Enhancer
from llve.stream import exposure, spatial_filter, temporal_filter

SPENT: dict[str, list[float]] = collections.defaultdict(list)


def timed(name: str, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        SPENT[name].append(time.perf_counter() - start)
        return result
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--size", default="960x512")
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    streaming.PairStep.hold = timed("encode", streaming.PairStep.hold)
    streaming.PairStep.decompose = timed("decompose", streaming.PairStep.decompose)
    exposure.rolled_off = timed("roll-off", exposure.rolled_off)
    temporal_filter.TemporalFilter.__call__ = timed("temporal", temporal_filter.TemporalFilter.__call__)
    spatial_filter.SpatialFilter.__call__ = timed("spatial", spatial_filter.SpatialFilter.__call__)
    height, width = parse_size(args.size)
    g = torch.Generator().manual_seed(0)
    frames = [tensor_to_uint8(torch.rand(1, 3, height, width, generator=g) * 0.2) for _ in range(4)]
    for spec in args.models:
        results = Enhancer(model=build_from_spec(spec), device="cpu").enhance_frames(itertools.cycle(frames))
        for _ in range(3):  # warm-up, and the first frame's exposure calibration
            next(results)
        SPENT.clear()
        start = time.perf_counter()
        for _ in range(args.frames):
            next(results)
        total = (time.perf_counter() - start) / args.frames * 1000
        stages = " ".join(f"{name} {1000 * float(np.mean(t)):.1f}" for name, t in SPENT.items())
        print(f"{spec}: {total:.1f} ms per frame | {stages} (ms, mean per call)")


if __name__ == "__main__":
    main()
