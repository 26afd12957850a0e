"""``llve view`` around the page: the missing extra, the --host warning, a busy port, and the exposure control
lighting up (in the browser) once the installed Enhancer takes ``exposure``."""
import socket

import numpy as np
import pytest

from llve.cli import main
from llve.run.enhancer import Enhancer
from tests.conftest import synthetic_frames, write_clip
from tests.view.browser import chromium_page, free_port, unavailable, upload

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders, servers


def test_without_gradio_one_line_names_the_extra(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    assert main(["view"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "llve: error: llve view needs the optional 'view' extra: pip install 'llve[view]'"


@pytest.mark.skipif(unavailable() is not None and "gradio" in str(unavailable()), reason="gradio is not installed")
def test_open_host_warns_and_busy_port_is_one_line(monkeypatch, tmp_path, capsys):
    import tempfile

    for name in ("GRADIO_ANALYTICS_ENABLED", "GRADIO_TEMP_DIR", "HF_HUB_DISABLE_TELEMETRY"):
        monkeypatch.setenv(name, "")  # serve() sets them; monkeypatch puts the originals back
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["view", "--host", "0.0.0.0", "--port", str(port), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "llve: warning: --host 0.0.0.0: the viewer is reachable by other machines" in err
    assert f"llve: error: cannot serve on 0.0.0.0:{port}" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # its temporary folder is gone


def history_rows(page) -> list[str]:
    """The settings column of the history table, newest first, once the page has drawn the latest render."""
    page.wait_for_timeout(500)
    return [line for line in page.locator("#history").inner_text().splitlines() if line.startswith("partner:")]


class ExposureEnhancer(Enhancer):
    """The real Enhancer, whose output is set to exactly the target brightness: shows the value reached it.
    ``renders`` lists the exposure of every preview rendered."""

    renders: list = []

    def __init__(self, weights, device, options):
        super().__init__(weights, device, options)
        self.setting = options.exposure
        self.target = 0.5 if options.exposure == "auto" else options.exposure

    def decompose_frames(self, frames):
        ExposureEnhancer.renders.append(self.setting)
        for result in super().decompose_frames(frames):
            level = np.full_like(result.y, round(255 * self.target))
            yield type(result)(level, result.r, result.s)


@pytest.mark.slow
@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
def test_exposure_control_in_the_browser(tmp_path):
    import torch
    from playwright.sync_api import expect

    from llve.models import build_model
    from llve.models.weights import save_model
    from llve.view.app import ViewerConfig, build_app

    clip = write_clip(tmp_path / "dark.mp4", synthetic_frames(6, 48, 64), fps=6)
    torch.manual_seed(0)
    weights = tmp_path / "exposure.safetensors"  # a network with exposure control (untrained: only the path counts)
    save_model(build_model("fast", exposure=True), weights)
    port = free_port()
    app = build_app(ViewerConfig(device="cpu", weights=str(weights)), enhancer_class=ExposureEnhancer,
                    work=tmp_path / "work")
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False,
                       quiet=True, share=False)
    try:
        with chromium_page() as page:
            page.goto(f"http://127.0.0.1:{port}")
            expect(page.locator("#exposure-mode")).to_be_visible()
            ExposureEnhancer.renders.clear()
            upload(page, clip)
            status, measures, history = page.locator("#status"), page.locator("#measures"), page.locator("#history")
            number = page.locator("#exposure-value input[type=number]")
            expect(status).to_contain_text("exposure: auto", timeout=120_000)
            expect(measures).to_contain_text("0.502")  # round(255 * 0.5) / 255
            expect(number).to_be_disabled()  # auto chooses its own target: the slider is not live
            assert history_rows(page) == ["partner: next, exposure: auto"]
            expect(history).to_contain_text("64x48, 6 frame(s)")  # the preview size tells rows apart

            page.locator("#exposure-mode").get_by_label("value").check()  # starts at auto's choice, renders once
            expect(number).to_be_enabled()
            start = float(number.input_value())
            expect(status).to_contain_text(f"exposure: {start:.2f}", timeout=120_000)
            assert history_rows(page) == [f"partner: next, exposure: {start:.2f}", "partner: next, exposure: auto"]
            assert 0.3 <= start <= 0.6 and start != 0.4, start  # not the slider's stale initial value
            number.fill("0.8")
            number.press("Enter")
            expect(status).to_contain_text("exposure: 0.80", timeout=120_000)
            expect(measures).to_contain_text("0.800")  # the preview really ran with the new target
            page.locator("#exposure-mode").get_by_label("auto").check()
            expect(number).to_be_disabled()
            expect(status).to_contain_text("exposure: auto", timeout=120_000)
            # auto again: its row moves to the top instead of being listed twice
            assert history_rows(page) == ["partner: next, exposure: auto", "partner: next, exposure: 0.80",
                                          f"partner: next, exposure: {start:.2f}"]
            assert ExposureEnhancer.renders == ["auto", start, 0.8, "auto"]  # one render per change, none stale
    finally:
        app.close()
