"""Choose the noise filters' strength: noise on the real clips and PSNR/SSIM on the held-out DAVIS clips, per value.

Two sweeps, both with the bundled weights on ``../shared/data/real_dark`` (auto exposure, and with ``--same`` also at
gamma+nlm's brightness, 98/255) and ``data/val/davis_dark`` (each sequence at its ground truth's mean brightness, as
``llve test --exposure gt``):

* the spatial filter's ``STRENGTH`` (0 = filter off; the temporal filter at its default), which chose 6:
  ``python scripts/spatial_filter_strength.py 0 4 6 8``
* ``--denoise``, which scales both filters (docs/exposure.md, "How strong"):
  ``python scripts/spatial_filter_strength.py --denoise --same 1 0 0.5 1.5 2 3``

Prints the real clips' noise (:func:`llve.evaluate.metrics.noise_sigma`: at 1x1, 2x2 and 4x4 blocks for the strength
sweep,
2x2 per clip for the denoise sweep) and the DAVIS PSNR / SSIM (every frame / every 4th frame). Run from the
repository root after ``python scripts/make_validation_data.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import llve.stream.spatial_filter as spatial
from llve.core.image import mean_luma_255 as mean_luma
from llve.evaluate.metrics import noise_sigma, psnr, ssim
from llve.media.frames import list_frames, read_frame
from llve.run.enhancer import Enhancer
from llve.stream.options import StreamOptions

REAL = Path("../shared/data/real_dark")
DAVIS = Path("data/val/davis_dark")
GAMMA_NLM_BRIGHTNESS = 98 / 255   # where gamma+nlm puts the real clips (MODEL_CARD.md)


def real_clips() -> list[list[np.ndarray]]:
    return [[read_frame(f) for f in list_frames(c)] for c in sorted(REAL.iterdir())]


def davis_scores(**options) -> tuple[float, float]:
    """Mean PSNR (every frame) and SSIM (every 4th) of the held-out DAVIS clips at their ground truth's brightness."""
    psnrs, ssims = [], []
    for seq in sorted((DAVIS / "low").iterdir()):
        low = [read_frame(f) for f in list_frames(seq)[:12]]
        high = [read_frame(f) for f in list_frames(DAVIS / "high" / seq.name)[:12]]
        target = float(np.mean([mean_luma(h) for h in high])) / 255
        out = list(Enhancer(options=StreamOptions(exposure=target, **options)).enhance_frames(low))
        psnrs += [psnr(o, h) for o, h in zip(out, high)]
        ssims += [ssim(o, h) for o, h in zip(out[::4], high[::4])]
    return float(np.mean(psnrs)), float(np.mean(ssims))


def strength_sweep(strengths: list[float]) -> None:
    clips = real_clips()
    for strength in strengths:
        spatial.STRENGTH = strength  # the stream builds its SpatialFilter with the module's STRENGTH (x denoise)
        options = {"spatial_filter": "on" if strength else "off"}
        noise = np.mean([[noise_sigma(o, level=k) for k in (1, 2, 3)]
                         for c in clips for o in Enhancer(options=StreamOptions(**options)).enhance_frames(c)],
                        axis=0)
        davis = davis_scores(**options)
        print(f"strength {strength:g}: real-clip noise 1x1/2x2/4x4 {noise[0]:.3f} / {noise[1]:.3f} / {noise[2]:.3f}; "
              f"DAVIS at gt brightness PSNR {davis[0]:.3f} SSIM {davis[1]:.3f}", flush=True)


def denoise_sweep(values: list[float], same: bool) -> None:
    clips = real_clips()
    exposures = ["auto"] + ([GAMMA_NLM_BRIGHTNESS] if same else [])
    for value in values:
        parts = []
        for exposure in exposures:
            enhancer = Enhancer(options=StreamOptions(denoise=value, exposure=exposure))
            per_clip = [np.mean([noise_sigma(o) for o in enhancer.enhance_frames(c)]) for c in clips]
            parts.append(f"real-clip noise at {exposure if exposure == 'auto' else f'{exposure * 255:.0f}/255'} "
                         f"{np.mean(per_clip):.3f} ({' / '.join(f'{n:.2f}' for n in per_clip)})")
        davis = davis_scores(denoise=value)
        print(f"denoise {value:g}: {'; '.join(parts)}; DAVIS at gt brightness PSNR {davis[0]:.3f} SSIM {davis[1]:.3f}",
              flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    numbers = [float(v) for v in args if not v.startswith("--")]
    if "--denoise" in args:
        denoise_sweep(numbers or [1.0, 0.0, 2.0], "--same" in args)
    else:
        strength_sweep(numbers or [0.0, 4.0])
