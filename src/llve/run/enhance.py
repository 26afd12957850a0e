"""``llve enhance``: choose a source and a sink for each input (video, frame folder or image; same kind out) and run
the stream between them.

Reads lazily (:mod:`llve.media.endpoints`), enhances through :class:`llve.run.enhancer.Enhancer`'s stream, writes each
result as soon as it exists, and only renames the outputs to their final names when everything succeeded
(``llve.core.atomic``).
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from llve.core.atomic import atomic_output
from llve.core.errors import UserInputError, warn
from llve.media.background import OrderedWorker, prefetch
from llve.media.encoders import STDIO, is_stdio
from llve.media.endpoints import FrameSink, FrameSource, check_frame_names, input_kind
from llve.media.span import Span
from llve.media.video import LOSSLESS_CONTAINERS, VIDEO_EXTENSIONS
from llve.run.enhancer import Enhancer
from llve.run.outputs import check_components_dir, check_output

COMPONENTS = ("R", "S")


def default_output(path: Path, kind: str, lossless: bool) -> Path:
    if kind == "folder":
        return path.with_name(path.name + "_enhanced")
    suffix = path.suffix
    if lossless and kind == "video" and suffix.lower() not in LOSSLESS_CONTAINERS:
        suffix = ".mkv"
    elif lossless and kind == "image":
        suffix = ".png"
    elif kind == "video" and suffix.lower() not in VIDEO_EXTENSIONS:
        suffix = ".mp4"
    return path.with_name(f"{path.stem}_enhanced{suffix}")


def component_targets(out: Path, kind: str, components_dir: str | Path) -> dict[str, Path]:
    """Where ``--components`` writes the R and S terms of the output ``out``."""
    names = {c: f"{out.name}_{c}" if kind == "folder" else f"{out.stem}_{c}{out.suffix}" for c in COMPONENTS}
    return {c: Path(components_dir) / name for c, name in names.items()}


def _once_per_kind(report: Callable[[str], None]) -> Callable[[str], None]:
    """Say each kind of conversion once, not once per frame of a long folder."""
    seen: set[str] = set()

    def note(message: str) -> None:
        kind = message.split(": converted ", 1)[-1]
        if kind not in seen:
            seen.add(kind)
            report(message + ("" if len(seen) > 1 else " (said once for all frames)"))

    return note


def _stdout_target(out: Path, components_dir) -> None:
    """A video stream for standard output: never to a terminal, and without components (they are files)."""
    if components_dir is not None:
        raise UserInputError("components are files: name a file output to write them", setting="output")
    if sys.stdout.isatty():
        raise UserInputError("refusing to write a video to a terminal: pipe it into a program (| ffmpeg -i - ...)",
                             setting="output")


def _enter_output(stack: contextlib.ExitStack, path: Path, is_dir: bool, overwrite: bool, component: bool) -> Path:
    """A temporary output for ``path`` (standard output as it is); a component that cannot be written names the
    components folder as the setting to change, not the output."""
    if is_stdio(path):
        return path
    try:
        return stack.enter_context(atomic_output(path, is_dir=is_dir, overwrite=overwrite))
    except UserInputError as exc:
        if component and exc.setting == "output":
            raise UserInputError(str(exc), setting="components") from None
        raise


def enhance_path(enhancer: Enhancer, src: str | Path, out: str | Path | None = None, *,
                 components_dir: str | Path | None = None, lossless: bool = False, overwrite: bool = False,
                 progress: bool = True, span: Span = Span(), fmt: str | None = None) -> Path:
    """Enhance ``src`` (video, frame folder or image; ``-``: a video on standard input) into ``out`` (``-``: a
    video stream on standard output, Y4M unless ``fmt`` names a container); return the output path.

    With ``components_dir``, the R and S terms are written there too, in the same format as the output. ``span``
    limits a video to a start and a duration (the output keeps that part's timing and audio).
    """
    source = FrameSource(src, _once_per_kind(warn), span)
    kind = source.kind
    out = Path(out) if out else Path(STDIO) if source.stdin else default_output(source.path, kind, lossless)
    if is_stdio(out):
        _stdout_target(out, components_dir)
    else:
        check_output(source.path, out, kind, lossless, overwrite)
    if kind == "folder":
        check_frame_names(source.files, lossless)
    targets = {"Y": out}
    if components_dir is not None:
        check_components_dir(out, Path(components_dir))
        targets.update(component_targets(out, kind, components_dir))
        for c in COMPONENTS:
            check_output(source.path, targets[c], kind, lossless, overwrite, what="component")

    with contextlib.ExitStack() as stack:
        tmp = {k: _enter_output(stack, p, kind == "folder", overwrite, component=k != "Y") for k, p in targets.items()}
        # Entered after the temporary outputs: every sink is closed before any output gets its final name.
        comment = ", ".join(filter(None, (enhancer.describe(), span.describe())))
        sinks = {k: stack.enter_context(FrameSink(source, p, lossless, audio=k == "Y", comment=comment, fmt=fmt,
                                                  shown=targets[k]))
                 for k, p in tmp.items()}
        # Decoding runs ahead and encoding behind on helper threads (llve.media.background); entered last, the
        # writer thread is finished before the sinks close.
        writer = stack.enter_context(OrderedWorker())
        frames = stack.enter_context(contextlib.closing(prefetch(source)))
        results = enhancer.stream(frames, components=components_dir is not None)
        name = "stdin" if source.stdin else source.path.name
        for key, result in tqdm(results, total=source.total, unit="frame", desc=name,
                                disable=not progress, leave=False):
            for k, rgb in zip(("Y", "R", "S"), (result.y, result.r, result.s)):
                if k in sinks:
                    writer.submit(sinks[k].write, key, rgb)
    return out


def batch_outputs(inputs: list[Path], output: str | Path | None, lossless: bool) -> list[Path]:
    """Output path of each input when several are enhanced in one call.

    Without ``output`` each result goes next to its input; with it, ``output`` is a folder
    (``llve.batch.jobs.run_batch``
    creates it) that receives every result under its default name. Two inputs may not end up at the same name.
    A missing input still gets a name (its job fails, the others run).
    """
    if len(set(inputs)) != len(inputs):
        raise UserInputError("an input is named twice")
    if output is None:
        return [default_output(src, input_kind(src, missing_ok=True), lossless) for src in inputs]
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"output {folder}: with several inputs, the output names a folder for the results")
    outs = [folder / default_output(src, input_kind(src, missing_ok=True), lossless).name for src in inputs]
    seen: dict[Path, Path] = {}
    for src, out in zip(inputs, outs):
        if seen.setdefault(out, src) != src:  # another input claimed this output first
            raise UserInputError(f"inputs {seen[out]} and {src} would both be written to {out}")
    return outs
