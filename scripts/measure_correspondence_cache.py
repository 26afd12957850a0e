"""Measure the correspondence cache: three epochs over a real clip, then the first epoch's draws again.

Usage (from the repository root):
    python scripts/measure_correspondence_cache.py [WIDTH HEIGHT]
Builds a paired frame-folder dataset in a temporary folder from ../shared/data/clean_video/realbasicvsr_demo_000
(31 frames, 640x360; the low-light side is the frame / 8), runs the DIS backend through the on-disk cache and
prints per-epoch time and how many pairs were computed rather than read.
"""
import sys
import tempfile
import time
from pathlib import Path

from llve.data.datasets import PairDataset, SamplingConfig
from llve.data.sources import SourceConfig
from llve.flow import build_backend
from llve.flow.cache import CorrespondenceCache
from llve.media.frames import list_frames, read_frame, write_frame

CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clean_video" / "realbasicvsr_demo_000"


def main() -> None:
    size = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        for f in list_frames(CLIP):
            img = read_frame(f)
            for side, im in (("high", img), ("low", img // 8)):
                (root / side / "demo").mkdir(parents=True, exist_ok=True)
                write_frame(root / side / "demo" / f"{f.stem}.png", im)
        cache = CorrespondenceCache(build_backend(), Path(tmp) / "cache")
        ds = PairDataset([SourceConfig(kind="folders", root=str(root))], SamplingConfig(size=size), cache, seed=0)

        def epoch(e: int, label: str) -> None:
            ds.set_epoch(e)
            before, t = cache.computed, time.perf_counter()
            for i in range(len(ds)):
                ds[i]
            print(f"{label}: {len(ds)} items in {time.perf_counter() - t:.2f} s, "
                  f"{cache.computed - before} pairs computed")

        for e in range(3):
            epoch(e, f"epoch {e + 1}")
        epoch(0, "epoch 1's draws again")
        files = list((Path(tmp) / "cache").rglob("*.npz"))
        print(f"cache: {len(files)} pairs, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
