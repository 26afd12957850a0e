"""Choose the spatial filter's strength: noise on the real clips and PSNR/SSIM on the held-out DAVIS clips, per value.

For each STRENGTH (0 = filter off), the bundled weights enhance ``../shared/data/real_dark`` (auto exposure) and
``data/val/davis_dark`` (each sequence at its ground truth's mean brightness, as ``llve test --exposure gt``), both
noise filters otherwise at their defaults. Prints the real clips' noise at 1x1, 2x2 and 4x4 blocks
(:func:`llve.metrics.noise_sigma` levels 1-3) and the DAVIS PSNR / SSIM (every frame / every 4th frame).

    python scripts/spatial_filter_strength.py 0 3 4 6      (repository root; make_validation_data.py run first)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import llve.spatial_filter as spatial
from llve.data.frames import list_frames, read_frame
from llve.inference import Enhancer
from llve.metrics import mean_luma, noise_sigma, psnr, ssim

REAL = Path("../shared/data/real_dark")
DAVIS = Path("data/val/davis_dark")


def enhanced(frames: list[np.ndarray], strength: float, exposure: str | float = "auto") -> list[np.ndarray]:
    spatial.STRENGTH = strength  # the stream builds its SpatialFilter() with the module's strength
    return list(Enhancer(spatial_filter="on" if strength else "off", exposure=exposure).enhance_frames(frames))


def main(strengths: list[float]) -> None:
    for strength in strengths:
        clips = [[read_frame(f) for f in list_frames(c)] for c in sorted(REAL.iterdir())]
        noise = np.mean([[noise_sigma(o, level=k) for k in (1, 2, 3)] for c in clips for o in enhanced(c, strength)],
                        axis=0)
        psnrs, ssims = [], []
        for seq in sorted((DAVIS / "low").iterdir()):
            low = [read_frame(f) for f in list_frames(seq)[:12]]
            high = [read_frame(f) for f in list_frames(DAVIS / "high" / seq.name)[:12]]
            out = enhanced(low, strength, float(np.mean([mean_luma(h) for h in high])) / 255)
            psnrs += [psnr(o, h) for o, h in zip(out, high)]
            ssims += [ssim(o, h) for o, h in zip(out[::4], high[::4])]
        print(f"strength {strength:g}: real-clip noise 1x1/2x2/4x4 {noise[0]:.3f} / {noise[1]:.3f} / {noise[2]:.3f}; "
              f"DAVIS at gt brightness PSNR {np.mean(psnrs):.3f} SSIM {np.mean(ssims):.3f}", flush=True)


if __name__ == "__main__":
    main([float(v) for v in sys.argv[1:]] or [0.0, 4.0])
