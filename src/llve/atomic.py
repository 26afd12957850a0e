"""Write files and folders under a temporary name and rename on success, so nothing is half-written.

A crash or Ctrl-C leaves at most a hidden ``.NAME.tmp-*`` entry next to the target, never a truncated file
under the final name. Used for enhanced videos, frame folders, checkpoints and results files.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from llve.errors import UserInputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(final: str | os.PathLike, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it to ``final`` if the block ends without error.

    The temporary name keeps ``final``'s suffix so that format detection (e.g. by a video muxer) works.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        if is_dir:
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
            os.chmod(tmp, 0o777 & ~_umask())
        else:
            fd, name = tempfile.mkstemp(prefix=f".{final.stem}.tmp-", suffix=final.suffix, dir=final.parent)
            os.close(fd)
            tmp = Path(name)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the final file gets the usual permissions
    except OSError as exc:  # read-only folder, no space, a file where a folder should be ...
        raise UserInputError(f"cannot write {final}: {exc.strerror or exc} (choose another output with -o)") from None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if is_dir else tmp.unlink(missing_ok=True)
        raise
    if is_dir and final.is_dir():
        # os.replace cannot replace a non-empty folder: move the old one aside, then delete it.
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        os.replace(final, old / "x")
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
