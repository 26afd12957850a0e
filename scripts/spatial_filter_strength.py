"""Choose the noise filters' strength: the real clips' noise and PSNR/SSIM on paired data, per value.

Two sweeps, both with the bundled weights on ``../shared/data/real_dark`` (auto exposure, and at gamma+nlm's
brightness, 98/255, the noise bound of MODEL_CARD.md):

* the spatial filter's ``STRENGTH`` (0 = filter off; the temporal filter at its default), which chose 3.6 for the
  stage-3 weights (docs/exposure.md, "How strong"): ``python scripts/spatial_filter_strength.py 7.2 5 3.6 2.5 2``;
  besides the noise, PSNR / SSIM of every 4th LOL pair of the training scenes at its ground truth's brightness
  (settings are chosen on training data), and with ``--davis`` of the held-out DAVIS clips;
* ``--denoise``, which scales both filters: ``python scripts/spatial_filter_strength.py --denoise --same 1 0 0.5 2``
  (the real clips per clip, at 98/255 too with ``--same``, and the held-out DAVIS clips).

Noise is :func:`llve.evaluate.metrics.noise_sigma` at 2x2 blocks; DAVIS PSNR / SSIM on every frame / every 4th
frame, each sequence at its ground truth's mean brightness (as ``llve test --exposure gt``). Run from the repository
root (DAVIS: after ``python scripts/make_validation_data.py``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from make_validation_data import held_out  # scripts/: the recipe's held-out parts, read one way

import llve.stream.spatial_filter as spatial
from llve.core.image import mean_luma_255 as mean_luma
from llve.evaluate.metrics import noise_sigma, psnr, ssim
from llve.media.frames import list_frames, read_frame
from llve.run.enhancer import Enhancer
from llve.stream.options import StreamOptions

REAL = Path("../shared/data/real_dark")
DAVIS = Path("data/val/davis_dark")
LOL = Path("../shared/data/lol_pairs")
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


def lol_training_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Every 4th LOL pair of the training scenes (configs/default.yaml's held-out scenes left out): what settings
    are chosen on, so the held-out scenes stay a measurement."""
    held = set(held_out("lol"))
    names = sorted(p.stem for p in (LOL / "low").iterdir() if p.stem not in held)[::4]
    return [(read_frame(LOL / "low" / f"{n}.png"), read_frame(LOL / "high" / f"{n}.png")) for n in names]


def lol_scores(pairs: list[tuple[np.ndarray, np.ndarray]], **options) -> tuple[float, float]:
    """Mean PSNR and SSIM of ``pairs``, each enhanced at its ground truth's brightness."""
    scores = []
    for low, high in pairs:
        enhancer = Enhancer(options=StreamOptions(exposure=mean_luma(high) / 255, **options))
        out = next(iter(enhancer.enhance_frames([low])))
        scores.append((psnr(out, high), ssim(out, high)))
    return tuple(float(v) for v in np.mean(scores, axis=0))


def strength_sweep(strengths: list[float], with_davis: bool) -> None:
    """Per strength: the real clips' noise (2x2 blocks) at ``auto`` and at gamma+nlm's brightness, the LOL training
    pairs' PSNR / SSIM (and, with ``--davis``, the held-out DAVIS clips')."""
    clips, pairs = real_clips(), lol_training_pairs()
    for strength in strengths:
        spatial.STRENGTH = strength  # the stream builds its SpatialFilter with the module's STRENGTH (x denoise)
        options = {"spatial_filter": "on" if strength else "off"}
        noise = [np.mean([noise_sigma(o) for c in clips
                          for o in Enhancer(options=StreamOptions(exposure=e, **options)).enhance_frames(c)])
                 for e in ("auto", GAMMA_NLM_BRIGHTNESS)]
        lol = lol_scores(pairs, **options)
        davis = " DAVIS at gt PSNR {:.3f} SSIM {:.3f}".format(*davis_scores(**options)) if with_davis else ""
        print(f"strength {strength:g}: real-clip noise auto {noise[0]:.3f}, at 98/255 {noise[1]:.3f}; LOL training "
              f"pairs at gt PSNR {lol[0]:.3f} SSIM {lol[1]:.3f}{davis}", flush=True)


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
        strength_sweep(numbers or [0.0, 3.6], "--davis" in args)
