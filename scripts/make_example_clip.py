"""Make examples/dark_tree.mp4: OpenCV's BSD-licensed tree.avi sample, darkened by `llve synth`.

Run from the repository root with ../shared present:  python scripts/make_example_clip.py
"""
import subprocess
import sys
import tempfile
from pathlib import Path

from llve.media.frames import list_frames, read_frame
from llve.media.video import VideoWriter, probe_video

SOURCE = Path("../shared/data/clean_video/tree.avi")
TARGET = Path("examples/dark_tree.mp4")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "llve", "synth", str(SOURCE), "-o", tmp, "--seed", "3",
                        "--exposure", "0.04", "0.04", "--quiet"], check=True)
        info = probe_video(SOURCE)
        with VideoWriter(TARGET, info, crf=20) as writer:
            for path in list_frames(Path(tmp) / "low" / SOURCE.stem):
                writer.write(read_frame(path))
    print(f"wrote {TARGET} ({TARGET.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
