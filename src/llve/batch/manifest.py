"""The batch manifest: one JSON line (a :class:`Record`) per finished input, read back to resume a batch.

Each shard appends to its own file in OUTDIR (``llve-manifest.jsonl``, or ``llve-manifest.K-of-N.jsonl``), so the
shards of one batch never write the same file; :func:`read_manifests` reads them all together. A manifest lives on
the user's disk for weeks and outlasts killed runs and full disks: a line that is torn, binary or foreign is
skipped with a warning, and the next run starts its first line on a fresh line.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from llve.core.config import from_dict
from llve.core.errors import UserInputError, warn
from llve.stream.options import StreamOptions

Status = Literal["done", "failed", "skipped"]
MANIFEST_STEM = "llve-manifest"


@dataclass(frozen=True)
class Fingerprint:
    """What says an input is unchanged: bytes and newest modification time (of its frames, for a folder)."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class OutputConfig:
    """Everything besides the weights and the input that changes an output; a change means redo.
    ``components_dir``: the absolute ``--components`` folder (components written elsewhere are not done)."""

    stream: StreamOptions = StreamOptions()
    backend: str = "torch"
    lossless: bool = False
    components: bool = False
    components_dir: str | None = None
    start: float = 0.0  # the part of each video (llve.media.span.Span): another part is another output
    duration: float | None = None


@dataclass(frozen=True)
class Record:
    """One manifest line: the outcome for one input. ``output`` is an absolute path; times are seconds.
    ``kept_as``: the free name a finished result was saved under because ``output`` appeared meanwhile (another
    run wrote it); such a record says nothing about the file at ``output``."""

    input: str
    output: str
    status: Status
    frames: int | None
    seconds: float
    error: str | None
    weights: str
    settings: OutputConfig
    input_fingerprint: Fingerprint | None
    llve_version: str
    shard: str
    host: str
    finished: str
    kept_as: str | None = None
    exposure: str | None = None  # what the exposure control chose (the line llve enhance prints), if it ran

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def _lines(path: Path) -> list[tuple[int, str]]:
    """The numbered text lines of one manifest; undecodable ones are skipped with a warning."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserInputError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    lines = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            lines.append((number, raw.decode("utf-8")))
        except UnicodeDecodeError:
            warn(f"{path.name} line {number} ignored: not UTF-8 text")
    return lines


def manifest_files(folder: str | Path) -> list[Path]:
    """Every shard's manifest in ``folder``; an entry named like one that is not a file is skipped with a warning."""
    found = []
    for path in sorted(Path(folder).glob(f"{MANIFEST_STEM}*.jsonl")):
        if path.is_file():
            found.append(path)
        else:
            warn(f"{path} ignored: not a manifest file")
    return found


def _upgrade_record(line: dict) -> dict:
    """A manifest line of the older layout (stream settings beside ``backend`` in ``settings``, ``fp16`` for the
    precision) in the current one, so a batch written before resumes; a current line is returned as it is."""
    settings = line.get("settings") if isinstance(line, dict) else None
    if not isinstance(settings, dict) or "stream" in settings:
        return line
    settings = dict(settings)
    stream = {k: settings.pop(k) for k in ("tile", "exposure", "temporal_filter", "spatial_filter", "denoise")
              if k in settings}
    stream["precision"] = "fp16" if settings.pop("fp16", False) else "fp32"
    return {**line, "settings": {**settings, "stream": stream}}


def read_manifests(folder: str | Path) -> dict[str, Record]:
    """The newest record per output (by file name in ``folder``), over every shard's manifest there.

    A line that does not parse (e.g. the last one of a killed run) is ignored with a warning. A record whose result
    was kept under another name (``kept_as``) does not stand for the output it names.
    """
    latest: dict[str, Record] = {}
    for path in manifest_files(folder):
        for number, line in _lines(path):
            if not line.strip():
                continue
            try:
                record = from_dict(Record, _upgrade_record(json.loads(line)))
            except (ValueError, UserInputError) as exc:
                warn(f"{path.name} line {number} ignored: {exc}")
                continue
            name = Path(record.output).name
            if record.kept_as is None and (name not in latest or record.finished >= latest[name].finished):
                latest[name] = record
    return latest


@dataclass(frozen=True)
class Summary:
    records: list[Record]
    manifest: Path | None

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.status == "failed"]


def manifest_report(folder: str | Path, jsonl: bool = False) -> tuple[str, list[Record]]:
    """What ``llve manifest OUTDIR`` prints: a summary over all shards (or the newest records as JSON lines),
    and the failed records."""
    latest = read_manifests(folder)
    if not latest:
        files = manifest_files(folder)
        raise UserInputError(f"no valid record in {', '.join(str(p) for p in files)}" if files
                             else f"no {MANIFEST_STEM}*.jsonl in {folder}")
    summary = Summary(sorted(latest.values(), key=lambda r: r.output), manifest=None)
    if jsonl:
        return "\n".join(r.to_json() for r in summary.records), summary.failed
    lines = [f"{len(summary.records)} inputs: {summary.count('done')} done, {summary.count('skipped')} skipped, "
             f"{summary.count('failed')} failed", *(f"failed {r.input}: {r.error}" for r in summary.failed)]
    return "\n".join(lines), summary.failed


class ManifestLog:
    """Appends records to one manifest, each line synced to disk; a write the disk refuses is a one-line error and
    leaves no torn line behind. Args: path: the manifest file (created if missing)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.file = open(path, "ab")
            if self.file.tell() and _last_byte(path) != b"\n":
                self._append(b"\n")  # a killed or full-disk run left its last line unterminated
        except OSError as exc:
            raise UserInputError(f"cannot write manifest {path}: {exc.strerror or exc}", setting="output") from None

    def _append(self, data: bytes) -> None:
        start = self.file.tell()
        try:
            self.file.write(data)
            self.file.flush()
            os.fsync(self.file.fileno())  # a killed run loses at most the line being written
        except OSError:
            try:
                self.file.truncate(start)
            except OSError:
                pass  # the next run starts on a fresh line anyway
            raise

    def write(self, record: Record) -> None:
        try:
            self._append((record.to_json() + "\n").encode("utf-8"))
        except OSError as exc:
            raise UserInputError(f"cannot write manifest {self.path}: {exc.strerror or exc}",
                                 setting="output") from None

    def close(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass  # every line was already synced


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)
