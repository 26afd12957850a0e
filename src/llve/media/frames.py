"""Reading single frames (png/jpg/bmp/tif/npy) as RGB uint8, and listing frame folders in natural order.

Everything the network sees goes through :func:`read_frame`, so grayscale, RGBA and 16-bit inputs are
converted in exactly one place and the caller is told once what was converted.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from llve.core.errors import UserInputError

FRAME_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".npy"}
JPEG_EXTENSIONS = {".jpg", ".jpeg"}


def natural_key(path: Path) -> list:
    """Sort key so that ``frame2`` comes before ``frame10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def list_frames(folder: str | Path) -> list[Path]:
    """Frame files of a folder in natural order; an error if there are none.

    Hidden files are skipped: they are the temporary names an interrupted run leaves (``.x.tmp-*.png``, see
    ``llve.core.atomic``) or the system's own (``._x.png``), never frames.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(f"not a folder: {folder}")
    frames = sorted((p for p in folder.iterdir()
                     if p.suffix.lower() in FRAME_EXTENSIONS and not p.name.startswith(".") and p.is_file()),
                    key=natural_key)
    if not frames:
        raise UserInputError(f"no frames ({', '.join(sorted(FRAME_EXTENSIONS))}) in folder {folder}")
    return frames


def to_rgb_uint8(img: np.ndarray, source: str, on_convert: Callable[[str], None] | None = None,
                 bgr: bool = False) -> np.ndarray:
    """Convert gray / gray+alpha / RGBA / 16-bit / float [0,1] arrays to HxWx3 uint8 RGB, reporting each change."""
    notes = []
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4) or img.shape[0] == 0 or img.shape[1] == 0:
        raise UserInputError(f"{source}: unsupported frame shape {img.shape} (expected HxW, HxWx3 or HxWx4)")
    if img.dtype == np.uint16:
        img = np.round(img.astype(np.float32) / 257.0).astype(np.uint8)
        notes.append("16-bit to 8-bit")
    elif img.dtype in (np.float32, np.float64):
        img = np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
        notes.append("float [0,1] to 8-bit")
    elif img.dtype != np.uint8:
        raise UserInputError(f"{source}: unsupported pixel type {img.dtype}")
    if img.shape[2] in (2, 4):
        img = img[:, :, :-1]
        notes.append("alpha channel dropped")
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
        notes.append("grayscale to RGB")
    elif bgr:
        img = img[:, :, ::-1]
    if notes and on_convert is not None:
        on_convert(f"{source}: converted " + ", ".join(notes))
    return np.ascontiguousarray(img)


def read_frame(path: str | Path, on_convert: Callable[[str], None] | None = None) -> np.ndarray:
    """Read one frame as HxWx3 uint8 RGB. ``.npy`` files are taken as stored (RGB channel order). A JPEG's EXIF
    orientation is applied, so a phone's portrait photo comes out upright (the output has no EXIF to turn it);
    other formats are read as stored, alpha and depth included, so that their conversion can be reported."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"file not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            img = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise UserInputError(f"cannot read {path}: {exc}") from None
        return to_rgb_uint8(img, str(path), on_convert)
    jpeg = path.suffix.lower() in JPEG_EXTENSIONS  # OpenCV turns by EXIF unless told IMREAD_UNCHANGED
    try:
        img = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR if jpeg else cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # e.g. a header that declares more pixels than OpenCV's limit
        raise UserInputError(f"cannot read image {path} (OpenCV refused it: {getattr(exc, 'err', '') or exc})"
                             ) from None
    if img is None:
        raise UserInputError(f"cannot read image {path} (missing, unreadable or not an image)")
    return to_rgb_uint8(img, str(path), on_convert, bgr=True)


def resize_to(img: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize to (width, height) with ``cv2.resize`` bilinear, as the official loaders do (None: keep)."""
    if size is None or (img.shape[1], img.shape[0]) == tuple(size):
        return img
    return cv2.resize(img, tuple(size), interpolation=cv2.INTER_LINEAR)


def downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink so the longer side is at most ``max_side`` (area averaging: no aliasing); never enlarge (0: keep)."""
    h, w = rgb.shape[:2]
    if max_side <= 0 or max(h, w) <= max_side:
        return rgb
    scale = max_side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def write_frame(path: str | Path, rgb: np.ndarray) -> None:
    """Write an HxWx3 uint8 RGB frame; the format follows the suffix (``.npy`` stores RGB as is)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        with open(path, "wb") as f:  # np.save on a path would append ".npy" to temporary names
            np.save(f, rgb)
        return
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1])):
        raise UserInputError(f"cannot write image {path}")
