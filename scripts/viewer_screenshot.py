"""The README's screenshot of ``llve view`` and the time from upload to first preview, in headless Chromium.

Makes a 10 s 640x360 dark clip from OpenCV's vtest.avi sample (in ../shared) with ``llve synth``, serves
``llve view``, uploads the clip three times (a fresh page each time), prints the seconds from upload to the first
preview
frame and to the complete preview, and saves docs/viewer.jpg. Needs the view extra, playwright and Debian's chromium.

Run from the repository root:  python -m scripts.viewer_screenshot
"""
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
from tests.view.browser import chromium_page, running_viewer, upload

from llve.media.frames import list_frames, read_frame
from llve.media.video import VideoInfo, VideoWriter

SOURCE = Path("../shared/data/clean_video/vtest.avi")
TARGET = Path("docs/viewer.jpg")
SECONDS, FPS, WIDTH, HEIGHT = 10, 25, 640, 360


def make_clip(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "llve", "synth", str(SOURCE), "-o", str(folder / "synth"), "--seed", "1",
                    "--exposure", "0.06", "0.06", "--max-side", str(WIDTH), "--max-frames", str(SECONDS * FPS),
                    "--quiet"], check=True)
    clip = folder / "dark_street_640x360.mp4"
    info = VideoInfo(WIDTH, HEIGHT, Fraction(FPS), Fraction(1, FPS), SECONDS * FPS, False)
    with VideoWriter(clip, info, crf=20) as writer:
        for path in list_frames(folder / "synth" / "low" / SOURCE.stem):
            rgb = read_frame(path)
            top = (rgb.shape[0] - HEIGHT) // 2  # 640x480 -> the middle 640x360
            writer.write(rgb[top:top + HEIGHT, :WIDTH])
    return clip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = make_clip(tmp)
        with running_viewer(tmp, "--device", "cpu") as (url, _), chromium_page() as page:
            for attempt in range(3):
                page.goto(url)
                page.wait_for_selector("#status:has-text('Drop a dark video')")  # the page is up and idle
                page.wait_for_timeout(3000)
                start = time.perf_counter()
                upload(page, clip)
                page.wait_for_selector("#compare img >> nth=1", timeout=300_000)  # before and after: shown
                first = time.perf_counter() - start
                page.wait_for_selector("#status:has-text('preview:')", timeout=300_000)
                complete = time.perf_counter() - start
                print(f"upload {attempt + 1}: first preview frame after {first:.1f} s, all preview frames and "
                      f"measures after {complete:.1f} s; {page.inner_text('#status')}")
            page.locator("#frame input[type=number]").fill("25")  # the scrubber: a frame with people in it
            page.locator("#frame input[type=number]").press("Enter")
            page.wait_for_timeout(2000)
            png = tmp / "viewer.png"
            page.screenshot(path=str(png), full_page=True)
        image = cv2.imread(str(png))
    for quality in (85, 75, 65, 55):
        cv2.imwrite(str(TARGET), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if TARGET.stat().st_size < 200_000:
            break
    print(f"wrote {TARGET} ({image.shape[1]}x{image.shape[0]}, {TARGET.stat().st_size / 1e3:.0f} KB)")


if __name__ == "__main__":
    main()
