"""Write files and folders under a temporary name and rename on success, so nothing is half-written.

A crash or Ctrl-C leaves at most a hidden ``.NAME.tmp-*`` entry next to the target, never a truncated file
under the final name; later runs never read such entries (frame folders skip hidden files) and they are safe to
delete. Without ``overwrite`` the final rename never replaces anything: a target that appeared while the output was
being written (another run) is left as it is and the new result is kept under a free name beside it.
Used for enhanced videos, frame folders, checkpoints and results files.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from llve.core.errors import UserInputError

# Errors of the disk being written to, not of the program: said in one line that names the final output.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


class OutputConflict(UserInputError):
    """The target appeared while it was being written; the finished result was kept under another name.
    Args: kept: that name (None while the result is not yet placed)."""

    def __init__(self, message: str = "", setting: str | None = None, kept: Path | None = None) -> None:
        super().__init__(message, setting)
        self.kept = kept


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


NAME_MAX = 255  # bytes in one file name on the usual file systems (ext4, XFS, btrfs, APFS, NTFS)


def _hidden_prefix(name: str, tag: str, suffix: str = "") -> str:
    """``.NAME.TAG-`` for a temporary name beside ``name``, NAME shortened so that the whole name (with the 8 random
    characters and ``suffix`` that follow) fits where ``name`` itself fits."""
    room = NAME_MAX - len(f"..{tag}-".encode()) - 8 - len(suffix.encode())
    while len(name.encode()) > room:
        name = name[:-1]
    return f".{name}.{tag}-"


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, deepest first (to undo on failure)."""
    missing = list(itertools.takewhile(lambda parent: not parent.exists(), (folder, *folder.parents)))
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_if_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (something else was written there meanwhile) or gone: leave it


def _place_without_clobbering(tmp: Path, final: Path, is_dir: bool) -> bool:
    """Move ``tmp`` to ``final`` only if nothing is there; False if something is (and ``tmp`` stays)."""
    if is_dir:
        if final.exists() or final.is_symlink():
            return False
        try:
            os.rename(tmp, final)  # fails on a non-empty folder that appeared since the check
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                return False
            raise
        return True
    try:
        os.link(tmp, final)  # a hard link never replaces an existing name: no-clobber and atomic
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: check, then rename (a short window remains)
        if final.exists() or final.is_symlink():
            return False
        os.replace(tmp, final)
        return True
    tmp.unlink()
    return True


def _finish(tmp: Path, final: Path, is_dir: bool, overwrite: bool, shown: Path) -> None:
    if not overwrite:
        if _place_without_clobbering(tmp, final, is_dir):
            return
        for n in range(1, 10000):
            kept = final.with_name(f"{final.stem}-{n}{final.suffix}" if not is_dir else f"{final.name}-{n}")
            if _place_without_clobbering(tmp, kept, is_dir):
                break
        else:
            raise OutputConflict(f"{shown} appeared while this run was writing it; this run's result is {tmp}")
        raise OutputConflict(f"{shown} appeared while this run was writing it (another run?); it was left as it is "
                             f"and this run's result was saved as {kept.name} beside it", kept=kept)
    if is_dir and final.is_dir() and not final.is_symlink():
        # os.replace cannot replace a non-empty folder: move the old one aside, then delete it.
        old = Path(tempfile.mkdtemp(prefix=_hidden_prefix(final.name, "old"), dir=final.parent))
        os.replace(final, old / "x")
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


@contextlib.contextmanager
def atomic_output(final: str | os.PathLike, is_dir: bool = False, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it to ``final`` if the block ends without error.

    The temporary name keeps ``final``'s suffix so that format detection (e.g. by a video muxer) works.
    With ``overwrite=False`` an existing ``final`` is never replaced (see the module docstring). Folders this
    call created for ``final`` are removed again if the block fails and they are still empty. A full or
    read-only disk is a one-line :class:`UserInputError` that names ``final``, not the temporary name.
    """
    shown = Path(final)
    final = Path(os.path.abspath(final))  # "." and "x/.." have no name to build a temporary name from
    created: list[Path] = []
    try:
        created = _make_parents(final.parent)
        if is_dir:
            tmp = Path(tempfile.mkdtemp(prefix=_hidden_prefix(final.name, "tmp"), dir=final.parent))
            os.chmod(tmp, 0o777 & ~_umask())
        else:
            fd, name = tempfile.mkstemp(prefix=_hidden_prefix(final.stem, "tmp", final.suffix), suffix=final.suffix,
                                        dir=final.parent)
            os.close(fd)
            tmp = Path(name)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the final file gets the usual permissions
    except OSError as exc:  # read-only folder, no space, a file where a folder should be ...
        _remove_if_empty(created)
        raise UserInputError(f"cannot write {shown}: {exc.strerror or exc}", setting="output") from None

    def discard() -> None:
        shutil.rmtree(tmp, ignore_errors=True) if is_dir else tmp.unlink(missing_ok=True)
        _remove_if_empty(created)

    try:
        yield tmp
    except OutputConflict:
        # A sibling output of the same run found its name taken; this one is complete, so it is kept.
        _finish(tmp, final, is_dir, overwrite, shown)
        raise
    except BaseException as exc:
        discard()
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
            raise UserInputError(f"cannot write {shown}: {exc.strerror or exc}") from None
        if isinstance(exc, UserInputError) and str(tmp) in str(exc):  # e.g. "cannot write image <tmp>/f0.png":
            raise UserInputError(str(exc).replace(str(tmp), str(shown))) from None  # name what the user asked for
        raise
    try:
        _finish(tmp, final, is_dir, overwrite, shown)
    except OSError as exc:
        discard()
        raise UserInputError(f"cannot write {shown}: {exc.strerror or exc}") from None
