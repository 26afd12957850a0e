"""Tiny clips and readers shared by the batch tests."""
import json
from pathlib import Path

import av

from tests.conftest import synthetic_frames, write_clip


def make_clips(folder: Path, count: int = 6, frames: int = 6, long: int = 0) -> list[Path]:
    """``count`` 64x48 clips of ``frames`` frames, different content each; the first has ``long`` frames if given."""
    folder.mkdir(parents=True, exist_ok=True)
    return [write_clip(folder / f"clip{i}.mp4", synthetic_frames(long if long and i == 0 else frames, 48, 64, seed=i))
            for i in range(count)]


def decode(path: Path) -> list:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def manifest_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("llve-manifest*.jsonl"))
            for line in path.read_text().splitlines()]
