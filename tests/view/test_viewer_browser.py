"""``llve view`` driven in a real headless Chromium: upload, preview, a control, the full run, download, cancel.

Skips (with the reason) only where gradio, Playwright or Debian's chromium are missing; ``.ci/run`` installs them.
"""
import signal
from urllib.parse import urlsplit

import pytest

from llve.media.video import probe_video
from llve.run.enhancer import Enhancer
from tests.conftest import synthetic_frames, write_clip
from tests.view.browser import chromium_page, running_viewer, unavailable, upload

pytestmark = [pytest.mark.slow, pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))]
PREVIEW_S = 120_000  # ms; generous: CI machines may be busy
RUN_S = 300_000


def test_upload_preview_control_full_run_download(tmp_path):
    from playwright.sync_api import expect

    clip = write_clip(tmp_path / "dark.mp4", synthetic_frames(16, 72, 128), fps=8)
    server_tmp = tmp_path / "server_tmp"
    server_tmp.mkdir()
    with running_viewer(server_tmp, "--device", "cpu") as (url, proc), chromium_page() as page:
        hosts = set()
        page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc) if r.url.startswith("http") else None)
        page.goto(url)
        upload(page, clip)
        status = page.locator("#status")
        expect(status).to_contain_text("preview: 16 frame(s) at 128x72", timeout=PREVIEW_S)
        expect(page.locator("#compare img")).to_have_count(2)  # before and after
        expect(page.locator("#component-r img")).to_have_count(1)
        expect(page.locator("#component-s img")).to_have_count(1)
        expect(page.locator("#measures")).to_contain_text("newly clipped")
        expect(page.locator("#frame")).to_be_visible()
        exposure = expect(page.locator("#exposure-mode"))  # shown exactly when the weights have it
        offered = Enhancer(device="cpu").model.exposure_control
        exposure.to_be_visible() if offered else exposure.to_be_hidden()

        page.get_by_label("each frame alone").check()  # a control re-renders the preview
        expect(status).to_contain_text("partner: self", timeout=PREVIEW_S)
        expect(page.locator("#history")).to_contain_text("partner: next")  # both settings listed for comparison

        expect(page.locator("#history")).to_contain_text("128x72, 16 frame(s)")  # rows name the preview size

        page.locator("#run-start input, #run-start textarea").first.fill("0.5")  # a part, as llve enhance --start
        page.locator("#run-duration input, #run-duration textarea").first.fill("00:00:01")
        page.click("#enhance-full")
        expect(status).to_contain_text("done: dark_enhanced.mp4 (from 0.5 s for 1 s", timeout=RUN_S)
        if offered:  # the done line says what auto chose, as llve enhance's result line does
            expect(status).to_contain_text("exposure auto: target")
        with page.expect_download() as download:
            page.locator("#result a[download]").click()
        result = tmp_path / "downloaded.mp4"
        download.value.save_as(result)
        info = probe_video(result)
        assert (info.frames, info.width, info.height) == (8, 128, 72)  # 0.5 s to 1.5 s at 8 fps

        # Only what was uploaded or produced can be fetched: not system files, not the user's own clip.
        for path in ("/etc/passwd", str(clip)):
            assert page.request.get(f"{url}/gradio_api/file={path}").status == 403
            call = page.request.post(f"{url}/gradio_api/call/enhance_full", data={"data": [
                {"path": path, "meta": {"_type": "gradio.FileData"}}, "auto", 0.4, "next"]})
            answer = page.request.get(f"{url}/gradio_api/call/enhance_full/{call.json()['event_id']}").text()
            assert "event: error" in answer or "only files uploaded" in answer, answer
        runs = next(server_tmp.glob("llve-view-*")) / "runs"
        assert len(list(runs.iterdir())) == 1, "no run was started for a file that was not uploaded"

        page.reload()  # a fresh session: something that is not a video gets a one-line message
        (tmp_path / "notes.txt").write_text("not a video")
        upload(page, tmp_path / "notes.txt")
        expect(status).to_contain_text("notes.txt is not a video or an image", timeout=PREVIEW_S)

        assert hosts == {urlsplit(url).netloc}, f"the page contacted other hosts: {hosts}"
        assert list(server_tmp.glob("llve-view-*")), "the viewer keeps its files in one temporary folder"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    assert list(server_tmp.iterdir()) == [], "temporary files left behind after the viewer stopped"


def test_cancel_leaves_nothing_behind(tmp_path):
    from playwright.sync_api import expect

    clip = write_clip(tmp_path / "long.mp4", synthetic_frames(400, 180, 320), fps=25)
    server_tmp = tmp_path / "server_tmp"
    server_tmp.mkdir()
    with running_viewer(server_tmp, "--device", "cpu") as (url, proc), chromium_page() as page:
        page.goto(url)
        upload(page, clip)
        expect(page.locator("#status")).to_contain_text("preview:", timeout=PREVIEW_S)
        page.click("#enhance-full")
        runs = next(server_tmp.glob("llve-view-*")) / "runs"
        deadline_ms = RUN_S  # wait until the run writes its temporary output
        while not list(runs.glob("*/.long_enhanced.tmp-*")) and deadline_ms > 0:
            page.wait_for_timeout(100)
            deadline_ms -= 100
        assert list(runs.glob("*/.long_enhanced.tmp-*")), "the full run never started writing"
        # The run's progress bar is drawn on the result box; the status line stays readable.
        expect(page.locator("#result .progress-bar")).to_have_count(1)
        expect(page.locator("#status .progress-text, #status .progress-bar")).to_have_count(0)
        page.click("#cancel")
        expect(page.locator("#status")).to_contain_text("cancelled; nothing was kept", timeout=PREVIEW_S)
        deadline_ms = 60_000
        while any(runs.iterdir()) and deadline_ms > 0:
            page.wait_for_timeout(100)
            deadline_ms -= 100
        assert list(runs.iterdir()) == [], "a cancelled run left files behind"
        expect(page.locator("#result a[download]")).to_have_count(0)
        assert not list((runs.parent / "uploads").rglob("long_enhanced*")), "a cancelled result was published"
