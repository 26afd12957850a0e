"""Many inputs in one command: shards for schedulers, a manifest that makes reruns resume, isolated failures.

``llve enhance INPUTS... -o OUTDIR`` plans the work here: each input becomes a :class:`Job`, unless the manifests
already in ``OUTDIR`` say it was done from the same input bytes (size + mtime) with the same weights and settings,
in which case it is ``skipped`` and its output is left untouched; a job that would write over another input of the
same run is ``failed`` (:func:`plan` owns which names a batch may write). ``--shard K/N`` keeps only this process's
share (:func:`assign_shards`: stable across machines, balanced by input size). An engine then runs the jobs (a plain
loop here, Ray in :mod:`llve.batch.ray_engine`), each through :func:`enhance_job`, which calls the same
:func:`llve.run.enhance.enhance_path` as a single-input ``llve enhance``. Every finished input appends one JSON line
(a :class:`Record`, :mod:`llve.batch.manifest`) to ``OUTDIR/llve-manifest.jsonl``, or ``llve-manifest.K-of-N.jsonl``
for shard K of N.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from llve import __version__
from llve.batch.manifest import (  # noqa: F401 (read_manifests, manifest_report: the batch API in one place)
    MANIFEST_STEM,
    Fingerprint,
    ManifestLog,
    OutputConfig,
    Record,
    Status,
    Summary,
    manifest_report,
    read_manifests,
)
from llve.core.atomic import OutputConflict
from llve.core.errors import UserInputError
from llve.media.span import Span
from llve.stream.options import StreamOptions

if TYPE_CHECKING:
    from llve.run.enhancer import Enhancer


@dataclass(frozen=True)
class Shard:
    """This process's share of a batch. Args: index: 1-based shard number K; count: number of shards N."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise UserInputError(f"shard {self.index}/{self.count}: need 1 <= K <= N")

    @property
    def manifest_name(self) -> str:
        suffix = "" if self.count == 1 else f".{self.index}-of-{self.count}"
        return f"{MANIFEST_STEM}{suffix}.jsonl"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, environ: Mapping[str, str] = os.environ) -> Shard:
    """``K/N`` (1-based), or ``auto``: from torchrun's ``RANK``/``WORLD_SIZE`` and a Slurm array's task id.

    Under both (torchrun inside each task of a Slurm array) the shards multiply: array task a of A, rank r of R
    is shard ``a*R + r + 1`` of ``A*R``. Without either, ``auto`` is the whole batch (1/1).
    """
    if text != "auto":
        try:
            k, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise UserInputError(f"shard {text}: expected K/N (e.g. 2/8) or auto") from None
        return Shard(k, n)
    rank, world = _env_int(environ, "RANK", 0), _env_int(environ, "WORLD_SIZE", 1)
    task, tasks = 0, 1
    if "SLURM_ARRAY_TASK_ID" in environ:
        first = _env_int(environ, "SLURM_ARRAY_TASK_MIN", 0)
        step = _env_int(environ, "SLURM_ARRAY_TASK_STEP", 1)
        tasks = _env_int(environ, "SLURM_ARRAY_TASK_COUNT", 0)
        if step < 1:
            raise UserInputError(f"shard auto: SLURM_ARRAY_TASK_STEP={step}: need a step of at least 1",
                                 setting="shard")
        task, off_grid = divmod(_env_int(environ, "SLURM_ARRAY_TASK_ID", 0) - first, step)
        if off_grid or not 0 <= task < tasks:
            raise UserInputError(f"shard auto: Slurm array task {environ['SLURM_ARRAY_TASK_ID']} is not one of "
                                 f"{tasks} evenly spaced tasks from {first}", setting="shard")
    return Shard(task * world + rank + 1, tasks * world)


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    """A scheduler's variable as an integer; a malformed one is named, not a traceback."""
    try:
        return int(environ.get(name, default))
    except ValueError:
        raise UserInputError(f"shard auto: {name}={environ[name]!r} is not an integer", setting="shard") from None


def assign_shards(sizes: list[int], keys: list[str], count: int) -> list[int]:
    """Shard number (1-based) of each input: largest first, each to the least-loaded shard (ties: lowest number).

    Depends only on the sizes and keys, never on the order given, so every machine computes the same split.
    """
    load = [0] * count
    shard_of = [0] * len(sizes)
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], keys[i])):
        target = min(range(count), key=lambda s: (load[s], s))
        load[target] += max(sizes[i], 1)
        shard_of[i] = target + 1
    return shard_of


def fingerprint(path: Path) -> Fingerprint | None:
    """None for an input that cannot be read (its job fails with the reason)."""
    try:
        if path.is_dir():
            stats = [p.stat() for p in path.iterdir() if p.is_file()]
            return Fingerprint(sum(s.st_size for s in stats),
                               max([path.stat().st_mtime_ns] + [s.st_mtime_ns for s in stats]))
        stat = path.stat()
        return Fingerprint(stat.st_size, stat.st_mtime_ns)
    except OSError:
        return None


@dataclass(frozen=True)
class EnhancerConfig:
    """How to build the network, sent to every worker so each loads it once. Args: as :class:`Enhancer`."""

    weights: str | None = None
    device: str = "auto"
    backend: str = "torch"
    stream: StreamOptions = StreamOptions()

    def build(self) -> Enhancer:
        """The network on this process's device: under torchrun, ``auto``/``cuda`` mean ``cuda:LOCAL_RANK``."""
        from llve.core.device import resolve_device
        from llve.run.enhancer import Enhancer

        device = resolve_device(self.device, int(os.environ.get("LOCAL_RANK", 0)))
        return Enhancer(self.weights, str(device), self.stream, backend=self.backend)

    def identity(self) -> str:
        """``sha256:`` of the weights file's bytes (the bundled file when none is given)."""
        from llve.run.enhancer import DEFAULT_WEIGHTS

        path = Path(self.weights) if self.weights else DEFAULT_WEIGHTS
        try:
            with open(path, "rb") as f:
                return "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()[:16]
        except OSError as exc:
            raise UserInputError(f"cannot read weights {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Job:
    """One input to enhance into one output. Args: overwrite: may replace an existing output (asked for, or our own
    output of an older input)."""

    input: Path
    output: Path
    fingerprint: Fingerprint | None
    overwrite: bool = False
    components_dir: Path | None = None
    lossless: bool = False
    span: Span = Span()


def count_frames(output: Path) -> int | None:
    """Frames in a finished output: files of a folder, 1 for an image, packets of a video."""
    from llve.media.frames import FRAME_EXTENSIONS
    from llve.media.video import probe_video

    if output.is_dir():
        return sum(1 for p in output.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS)
    if output.suffix.lower() in FRAME_EXTENSIONS:
        return 1
    return probe_video(output).frames


@dataclass(frozen=True)
class Context:
    """What every record of one run shares."""

    weights: str
    settings: OutputConfig
    shard: Shard

    def record(self, job: Job, status: Status, frames: int | None = None, seconds: float = 0.0,
               error: str | None = None, kept_as: Path | None = None) -> Record:
        return Record(input=str(job.input.absolute()), output=str(job.output.absolute()), status=status,
                      frames=frames, seconds=round(seconds, 3), error=error, weights=self.weights,
                      settings=self.settings, input_fingerprint=job.fingerprint, llve_version=__version__,
                      shard=str(self.shard), host=socket.gethostname(),
                      finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
                      kept_as=str(kept_as.absolute()) if kept_as is not None else None)


def enhance_job(enhancer: Enhancer, job: Job, context: Context, progress: bool = False) -> Record:
    """Enhance one input through the single-input path; any error becomes a ``failed`` record, never a raise.

    Every engine calls this, so a batch and ``llve enhance ONE`` produce the same bytes.
    """
    from llve.run.enhance import enhance_path

    start = time.perf_counter()
    try:
        out = enhance_path(enhancer, job.input, job.output, components_dir=job.components_dir,
                           lossless=job.lossless, overwrite=job.overwrite, progress=progress, span=job.span)
        control = enhancer.exposure_controller
        return dataclasses.replace(context.record(job, "done", count_frames(out), time.perf_counter() - start),
                                   exposure=control.describe() if control is not None else None)
    except OutputConflict as exc:  # another run wrote this output meanwhile: it stands, ours is beside it
        return context.record(job, "failed", seconds=time.perf_counter() - start, error=str(exc), kept_as=exc.kept)
    except Exception as exc:  # one bad input must not stop a weekend's batch; the manifest keeps the reason
        error = str(exc) if isinstance(exc, UserInputError) else f"{type(exc).__name__}: {exc}"
        return context.record(job, "failed", seconds=time.perf_counter() - start, error=error)


def _file_key(path: Path) -> tuple | str:
    """Names one file however it is spelled: device and inode where it exists, else its resolved path."""
    try:
        stat = path.stat()
        return stat.st_dev, stat.st_ino
    except OSError:
        return os.path.realpath(path)


def _targets(src: Path, out: Path, components_dir: Path | None) -> list[Path]:
    """Every path the job for ``src`` writes: its output and, with ``components_dir``, its R and S."""
    from llve.media.endpoints import input_kind
    from llve.run.enhance import component_targets

    if components_dir is None:
        return [out]
    return [out, *component_targets(out, input_kind(src, missing_ok=True), components_dir).values()]


def _refusal(targets: list[Path], given: set, mine: bool, overwrite: bool) -> str | None:
    """Why a job may not run at all: a path it writes is another input of the run (even ``overwrite`` never
    replaces one), or a component exists in a folder this input's recorded run did not write to."""
    clash = next((t for t in targets if _file_key(t) in given), None)
    if clash is not None:
        return f"{clash} is another input of this run; refusing to replace it"
    foreign = next((t for t in targets[1:] if t.exists()), None)
    if mine and not overwrite and foreign is not None:
        return f"component {foreign} exists"
    return None


def plan(inputs: list[Path], outputs: list[Path], context: Context, previous: Mapping[str, Record], *,
         overwrite: bool, components_dir: Path | None, lossless: bool) -> tuple[list[Job], list[Record]]:
    """Split this shard's inputs into jobs to run and settled records: ``skipped`` (done before, nothing changed)
    or ``failed`` (:func:`_refusal`).

    ``previous``: the newest record per output name (:func:`read_manifests`).
    """
    prints = [fingerprint(p) for p in inputs]
    shard_of = assign_shards([fp.size if fp else 0 for fp in prints], [o.name for o in outputs], context.shard.count)
    given = {_file_key(p) for p in inputs}
    jobs, settled = [], []
    for src, out, fp, shard in zip(inputs, outputs, prints, shard_of):
        if shard != context.shard.index:
            continue
        job = Job(src, out, fp, overwrite, components_dir, lossless,
                  Span(context.settings.start, context.settings.duration))
        targets = _targets(src, out, components_dir)
        before = previous.get(out.name)
        recorded = before is not None and before.status != "failed" and out.exists()
        # Replacing an output needs the very path it was made from; its components, the same folder.
        ours = recorded and before.input == str(src.absolute())
        moved = ours and before.settings.components_dir != context.settings.components_dir
        refusal = _refusal(targets, given, moved, overwrite)
        if refusal is not None:
            settled.append(context.record(job, "failed", error=refusal))
            continue
        # Skipping needs the same name, bytes and mtime (the same file, wherever it is mounted), and every
        # component still there.
        unchanged = (recorded and all(t.exists() for t in targets) and fp is not None
                     and Path(before.input).name == src.name and before.input_fingerprint == fp
                     and before.weights == context.weights and before.settings == context.settings)
        if unchanged and not overwrite:
            settled.append(dataclasses.replace(context.record(job, "skipped"), frames=before.frames))
            continue
        # Our own output of an older input, weights or settings is replaced; anything else only with --overwrite.
        jobs.append(dataclasses.replace(job, overwrite=overwrite or ours))
    return jobs, settled


Engine = Callable[[list[Job], EnhancerConfig, Context], Iterator[Record]]


def local_engine(progress: bool = True) -> Engine:
    """One process, one network load (only if there is work), inputs one after another."""

    def run(jobs: list[Job], spec: EnhancerConfig, context: Context) -> Iterator[Record]:
        enhancer = spec.build() if jobs else None
        for job in jobs:
            yield enhance_job(enhancer, job, context, progress=progress)

    return run


def run_batch(inputs: Iterable[str | Path], output: str | Path | None, spec: EnhancerConfig, *,
              shard: Shard = Shard(), engine: Engine | None = None, overwrite: bool = False,
              components_dir: str | Path | None = None, lossless: bool = False, progress: bool = True,
              on_record: Callable[[Record], None] = lambda record: None, span: Span = Span()) -> Summary:
    """Enhance this shard's share of ``inputs`` (each video only in ``span``) into the folder ``output``, appending
    to its manifest there.

    Without ``output`` each result goes next to its input and there is no manifest (so no resume).
    ``on_record`` hears of each record as it is kept. Failures are recorded, never raised; bad arguments
    (clashing output names, an output that is a file, unreadable weights) raise :class:`UserInputError` first.
    """
    from llve.run.enhance import batch_outputs

    inputs = [Path(p) for p in inputs]
    outputs = batch_outputs(inputs, output, lossless)
    settings = OutputConfig(spec.stream, spec.backend, lossless, components_dir is not None,
                            os.path.abspath(components_dir) if components_dir is not None else None, span.start,
                            span.duration)
    context = Context(spec.identity(), settings, shard)
    manifest = Path(output) / shard.manifest_name if output is not None else None
    if manifest is not None:
        try:
            manifest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserInputError(f"cannot create output folder {output}: {exc.strerror or exc}") from None
    jobs, settled = plan(inputs, outputs, context, read_manifests(output) if output is not None else {},
                         overwrite=overwrite, lossless=lossless,
                         components_dir=Path(components_dir) if components_dir is not None else None)
    records: list[Record] = []
    log = ManifestLog(manifest) if manifest else None
    bar = tqdm(total=len(jobs), unit="input", desc="inputs", disable=not progress or len(jobs) < 2)
    with contextlib.closing(log) if log else contextlib.nullcontext(), bar:
        def keep(record: Record) -> None:
            if log is not None:
                log.write(record)
            records.append(record)
            on_record(record)

        for record in settled:
            keep(record)
        for record in (engine or local_engine(progress))(jobs, spec, context):
            keep(record)
            bar.update()
    return Summary(records, manifest)
