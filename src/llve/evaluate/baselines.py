"""Classical (learning-free) enhancers, scored under exactly the same protocol as the network.

Each baseline maps one RGB frame, float32 HxWx3 in [0, 1], to an enhanced frame of the same kind. They see
only the low-light input, never the ground truth, so their scores are an honest floor for learned methods.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from llve.core.image import LUMA

Baseline = Callable[[np.ndarray], np.ndarray]

GAMMA_TARGET = 0.4   # mean luma (in [0, 1]) the gamma curve aims for
CLAHE_CLIP = 2.0     # OpenCV's clip limit (contrast amplification cap per tile)
CLAHE_TILES = (8, 8)
NLM_STRENGTH = 1.2   # non-local-means filter strength h per unit of estimated noise sigma
NLM_TEMPLATE, NLM_SEARCH = 7, 21  # OpenCV's recommended patch and search window sizes


def identity(frame: np.ndarray) -> np.ndarray:
    """The input itself: the score of doing nothing."""
    return frame


def gamma(frame: np.ndarray, target: float = GAMMA_TARGET) -> np.ndarray:
    """Power curve ``x ** g`` with g chosen from this frame's own mean luma m so that ``m ** g == target``.

    Never darkens (g <= 1) and never goes below g = 0.05, so black frames do not explode into noise.
    """
    m = float(np.clip((frame @ np.array(LUMA, np.float32)).mean(), 1e-4, 0.9999))
    g = float(np.clip(np.log(target) / np.log(m), 0.05, 1.0))
    return np.power(np.clip(frame, 0.0, 1.0), g, dtype=np.float32)


def clahe(frame: np.ndarray) -> np.ndarray:
    """OpenCV CLAHE on the L channel of CIE Lab (8-bit), colours kept."""
    rgb8 = np.round(np.clip(frame, 0.0, 1.0) * 255.0).astype(np.uint8)
    lab = cv2.cvtColor(rgb8, cv2.COLOR_RGB2LAB)
    clahe_op = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=CLAHE_TILES)
    lab[..., 0] = clahe_op.apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB).astype(np.float32) / 255.0


def gamma_nlm(frame: np.ndarray, target: float = GAMMA_TARGET) -> np.ndarray:
    """:func:`gamma`, then OpenCV's non-local-means colour denoising: the classical brighten-and-denoise anchor.

    The filter strength follows the brightened frame's own noise (wavelet MAD sigma of single pixels,
    :func:`llve.evaluate.metrics.noise_sigma` at level 1 and the frame's own brightness): ``h = clip(1.2 sigma, 3,
    30)`` in
    8-bit units.
    """
    from llve.evaluate.metrics import noise_sigma

    bright = np.round(np.clip(gamma(frame, target), 0.0, 1.0) * 255.0).astype(np.uint8)
    sigma = noise_sigma(bright, reference=max(float(bright.mean()), 1.0), level=1)
    h = float(np.clip(NLM_STRENGTH * sigma, 3.0, 30.0))
    bgr = np.ascontiguousarray(bright[:, :, ::-1])
    clean = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, NLM_TEMPLATE, NLM_SEARCH)
    return clean[:, :, ::-1].astype(np.float32) / 255.0


BASELINES: dict[str, Baseline] = {"identity": identity, "gamma": gamma, "clahe": clahe, "gamma+nlm": gamma_nlm}
