"""What an output of ``llve enhance`` may be and what ``--overwrite`` may replace: one owner for these rules.

The main output and the R/S component outputs obey the same rules, checked before any work:

- an existing output is replaced only with ``--overwrite``; the input only when ``-o`` names it and
  ``--overwrite`` is given (a component never replaces the input: its name is derived, not chosen);
- a file output must not be a folder, and a folder output must not be a file (nor a new one named like a file);
- ``--overwrite`` replaces a frame folder as a whole, so it refuses a folder that holds anything but frame files
  (it would delete them; hidden files are never frames), that holds the input, or that holds the current folder;
- the components folder is neither the output nor inside it.

The final rename repeats the existence check (``llve.core.atomic``): without ``--overwrite`` a file that appeared
during a long run is not replaced.
"""
from __future__ import annotations

import os
from pathlib import Path

from llve.core.errors import UserInputError
from llve.media.frames import FRAME_EXTENSIONS
from llve.media.video import LOSSLESS_CONTAINERS, VIDEO_EXTENSIONS


def _check_replaceable_folder(src: Path, out: Path, what: str) -> None:
    """Overwriting an existing folder: only a folder of frames that holds neither the input nor the cwd."""
    real_out, real_src = out.resolve(), src.resolve()
    if real_src != real_out and real_src.is_relative_to(real_out):
        raise UserInputError(f"{what} {out} holds the input {src}; replacing the folder would delete it",
                             setting="output")
    if Path.cwd().resolve().is_relative_to(real_out):
        raise UserInputError(f"{what} {out} is or holds the current folder; overwriting replaces a whole folder",
                             setting="output")
    others = sorted(p.name for p in out.iterdir()  # hidden files are never frames (llve.media.frames.list_frames)
                    if p.name.startswith(".")
                    or not (p.is_file() and not p.is_symlink() and p.suffix.lower() in FRAME_EXTENSIONS))
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise UserInputError(f"{what} {out} holds other things than frames ({shown}); overwriting replaces a whole "
                             "frame folder and would delete them", setting="output")


def check_components_dir(out: Path, components_dir: Path) -> None:
    """The components folder may be neither the output nor inside it: the output's final rename would replace it
    (a folder output) or find its name taken (a file output)."""
    real_out, real_dir = out.resolve(), components_dir.resolve()
    if real_dir == real_out or real_dir.is_relative_to(real_out):
        raise UserInputError(f"components folder {components_dir} is or is inside the output {out}",
                             setting="components")


def check_output(src: Path, out: Path, kind: str, lossless: bool, overwrite: bool, what: str = "output") -> None:
    """Refuse, in one line, an output path that ``llve enhance`` must not write (see the module docstring).

    ``kind`` is the input's kind (``video``, ``folder`` or ``image``); ``what`` names the output in messages
    (``output`` or ``component``).
    """
    same = out.exists() and src.exists() and os.path.samefile(out, src)
    if same and (not overwrite or what != "output"):
        raise UserInputError(f"{what} {out} is the input; refusing to overwrite it",
                             setting="overwrite" if what == "output" else "components")
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise UserInputError(f"{what} {out} exists", setting="overwrite")
    if kind != "folder" and out.is_dir():
        raise UserInputError(f"{what} {out} is a folder; a {kind} output must be a file name")
    if kind == "folder" and out.exists() and not out.is_dir():
        raise UserInputError(f"{what} {out}: a frame folder's output must be a folder, not a file")
    if kind == "folder" and not out.exists() and out.suffix.lower() in VIDEO_EXTENSIONS | FRAME_EXTENSIONS:
        raise UserInputError(f"{what} {out}: a frame folder's output is a folder of frames, and {out.name} names a "
                             "file; choose a folder name")
    if kind == "folder" and out.is_dir() and overwrite:
        _check_replaceable_folder(src, out, what)
    suffix = out.suffix.lower()
    if kind == "video" and suffix not in VIDEO_EXTENSIONS:
        raise UserInputError(f"{what} {out}: a video needs a video file name ({', '.join(sorted(VIDEO_EXTENSIONS))})")
    if kind == "video" and lossless and suffix not in LOSSLESS_CONTAINERS:
        raise UserInputError(f"{what} {out}: lossless FFV1 needs a .mkv, .avi or .nut file")
    if kind == "image" and suffix not in FRAME_EXTENSIONS:
        raise UserInputError(f"{what} {out}: an image needs an image file name (.png, .jpg, ...)")
    if kind == "image" and lossless and suffix not in (".png", ".npy", ".bmp", ".tif", ".tiff"):
        raise UserInputError(f"{what} {out}: a lossless image needs a lossless format such as .png")
