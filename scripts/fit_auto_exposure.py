"""Fit ``auto``'s exposure curve (llve.stream.exposure.AUTO_PIVOT / AUTO_POWER) to real ground truths.

For every training pair of the default recipe's LOL and SICE sources (configs/default.yaml; held-out parts are
skipped), take the input's mean luma x and the ground truth's mean luma y, and find the curve
``clip(t0 * (x / 0.03) ** p, *AUTO_RANGE)`` with the least mean |log error| (each source weighs the same).
Prints the fit and its error on the training and the held-out parts, next to the current constants', with and
without the lit-scene cap (``exposure.LIT_GAIN``, from each input's share of lights ``exposure.lit_share``).

    python scripts/fit_auto_exposure.py     (repository root, ../shared present)
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from llve.core.image import mean_luma_unit as mean_luma
from llve.stream import exposure


def luma(path: Path) -> float:
    return mean_luma(cv2.imread(str(path))[:, :, ::-1])


def metered(path: Path) -> tuple[float, float]:
    """An input's mean luma and its share of lights."""
    rgb = cv2.imread(str(path))[:, :, ::-1]
    return mean_luma(rgb), exposure.lit_share(rgb)


def pairs(source: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(input luma, input's share of lights, ground-truth luma, held out?) per pair of a LOL-style or a stacks
    source."""
    root, held_out = Path(source["root"]), set(source.get("test", []))
    rows = []
    if source["kind"] == "stacks":
        for stack in sorted(p for p in root.iterdir() if p.is_dir()):
            ref = luma(stack / "reference.jpg")
            rows += [(*metered(f), ref, stack.name in held_out) for f in sorted(stack.glob("dark*.jpg"))]
    else:
        for low in sorted((root / "low").glob("*.png")):
            rows.append((*metered(low), luma(root / "high" / low.name), low.stem in held_out))
    x, lit, y, test = map(np.array, zip(*rows))
    return x, lit, y, test


def errors(curve, data, held_out: bool) -> list[float]:
    """Mean |log error| per source of ``curve(input luma, share of lights)``."""
    return [float(np.mean(np.abs(np.log(curve(x[t == held_out], lit[t == held_out])) - np.log(y[t == held_out]))))
            for x, lit, y, t in data]


def main() -> None:
    recipe = yaml.safe_load(open("configs/default.yaml"))
    data = [pairs(s) for s in recipe["data"]["train"] if s["name"] in ("lol", "sice")]
    low, high = exposure.AUTO_RANGE
    best = min((float(np.mean(errors(lambda x, _: np.clip(t0 * (x / 0.03) ** p, low, high), data, False))), t0, p)  # noqa: B023
                for t0 in np.arange(0.20, 0.60, 0.01) for p in np.arange(0.0, 0.80, 0.02))
    _, t0, p = best
    fitted = lambda x, _: np.clip(t0 * (x / 0.03) ** p, low, high)  # noqa: E731
    current = np.vectorize(exposure.auto_target)
    uncapped = np.vectorize(lambda x, _: exposure.auto_target(x))
    print(f"fit: target = clip({t0:.2f} * (x / 0.03) ** {p:.2f}, {low}, {high})")
    for name, curve in (("fit", fitted), ("current", current), ("no cap", uncapped)):
        train, test = errors(curve, data, False), errors(curve, data, True)
        print(f"{name:8s} mean |log error| lol/sice: train {train[0]:.3f}/{train[1]:.3f}, "
              f"held out {test[0]:.3f}/{test[1]:.3f}")


if __name__ == "__main__":
    main()
