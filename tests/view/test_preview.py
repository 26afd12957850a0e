"""The viewer's computations without the web page: preview decoding, measures (hand-computed), cancellable runs."""
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from llve.core.errors import UserInputError
from llve.run.enhance import enhance_path
from llve.run.enhancer import Enhancer
from llve.view.preview import Cancelled, FullRun, PreviewConfig, load_clip, measure, media_kind
from tests.conftest import synthetic_frames, write_clip


def gray(value: float, h: int = 8, w: int = 8) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def test_measures_match_hand_computed_values():
    from llve.evaluate.metrics import FLICKER_FLOOR

    inputs = [gray(10), gray(20)]
    out0 = gray(100)
    out0[:, :4] = 255  # half the pixels blown out where the input (10) was not
    outputs = [out0, gray(100)]
    m = measure(inputs, outputs)
    assert m.input_brightness == pytest.approx(15 / 255)
    assert m.output_brightness == pytest.approx(((255 + 100) / 2 + 100) / 2 / 255)
    assert m.newly_clipped == pytest.approx(0.25)  # 0.5 in the first frame, 0 in the second
    # log flicker: input |log 20 - log 10| = log 2; output |log 100 - log 177.5|; flat frames: no noise, least floor
    assert m.flicker_floor == FLICKER_FLOOR
    assert m.relative_flicker == pytest.approx(abs(np.log(177.5 / 100)) / np.log(2))
    assert m.input_noise == 0 and m.output_noise == 0  # flat areas and a block-aligned edge carry no noise
    noisy = np.clip(128 + np.random.default_rng(0).normal(0, 5, (64, 64, 1)), 0, 255).round().astype(np.uint8)
    assert measure([gray(128, 64, 64)], [np.repeat(noisy, 3, axis=2)]).output_noise == pytest.approx(5, rel=0.15)


def test_already_clipped_input_is_not_newly_clipped():
    m = measure([gray(255), gray(255)], [gray(255), gray(255)])
    assert m.newly_clipped == 0
    assert m.relative_flicker == pytest.approx(1.0)  # as steady as the input
    assert measure([gray(10)], [gray(100)]).relative_flicker is None  # one frame: no flicker to compare


def test_media_kind_accepts_videos_and_images_and_names_anything_else(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", synthetic_frames(3, 32, 48))
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), synthetic_frames(1, 32, 48)[0])
    assert media_kind(clip) == "video" and media_kind(image) == "image"
    for name, data in (("notes.txt", b"hello"), ("fake.mp4", b"not a video at all"), ("fake.png", b"nope")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UserInputError, match=name.replace(".", r"\.")):
            media_kind(tmp_path / name)


def test_preview_takes_the_first_seconds_downscaled(tmp_path):
    frames = synthetic_frames(30, 90, 160)
    clip = load_clip(write_clip(tmp_path / "clip.mp4", frames, fps=10), PreviewConfig(seconds=1.5, max_side=80))
    assert (clip.kind, len(clip.frames), clip.fps, clip.width, clip.height, clip.total_frames) == \
        ("video", 15, 10.0, 160, 90, 30)
    assert clip.frames[0].shape == (45, 80, 3)
    assert len(load_clip(tmp_path / "clip.mp4", PreviewConfig(seconds=10, max_frames=7)).frames) == 7
    small = load_clip(tmp_path / "clip.mp4", PreviewConfig(max_side=1000))
    assert small.frames[0].shape == (90, 160, 3)  # never upscaled


@pytest.mark.parametrize("rotation, corner", [(90, (0, 0)), (-90, (-1, -1)), (-180, (-1, 0))])
def test_a_rotated_phone_clip_is_previewed_upright(tmp_path, rotation, corner):
    """The display rotation is counter-clockwise: the stored top-right corner (marked white) goes to the top-left
    at 90 degrees, to the bottom-right at -90 and to the bottom-left at 180."""
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:16, -16:] = 255
    clip = load_clip(write_clip(tmp_path / "phone.mp4", [frame] * 2, rotation=rotation))
    assert clip.frames[0].shape == ((64, 48, 3) if rotation % 180 else (48, 64, 3))
    assert clip.frames[0][corner].min() > 200 and clip.frames[0][32 if rotation % 180 else 24, 24].max() < 50


def test_full_run_returns_its_output(tmp_path):
    run = FullRun(tmp_path / "run")

    def enhance(target: Path) -> Path:
        target.write_text("done")
        return target

    out = run.run(enhance, "out.txt")
    assert out == tmp_path / "run" / "out.txt" and out.read_text() == "done"


def test_cancel_stops_a_real_enhancement_and_leaves_nothing(tmp_path):
    src = write_clip(tmp_path / "clip.mp4", synthetic_frames(200, 96, 128))
    enhancer = Enhancer(device="cpu")
    run = FullRun(tmp_path / "run")
    outcome = {}

    def work():
        try:
            outcome["out"] = run.run(lambda target: enhance_path(run.stoppable(enhancer), src, target, progress=False),
                                     "out.mp4")
        except Cancelled:
            outcome["cancelled"] = True

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 60
    while not list((tmp_path / "run").glob(".out.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the temporary output exists: the run is writing frames
    assert list((tmp_path / "run").glob(".out.tmp-*")), "the run never started writing"
    assert run.cancel()
    assert run.wait(60)  # what the Cancel button waits for before it says "nothing was kept"
    assert not (tmp_path / "run").exists()
    thread.join(60)
    assert not thread.is_alive()
    assert outcome == {"cancelled": True}
    assert not (tmp_path / "run").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_cancel_before_start_prevents_the_run(tmp_path):
    run = FullRun(tmp_path / "run")
    assert not run.cancel()
    with pytest.raises(Cancelled):
        run.run(lambda target: pytest.fail("must not run"), "x")
    assert not (tmp_path / "run").exists()


def test_the_noise_reduction_is_offered_where_the_filters_run_and_reaches_the_enhancer():
    from types import SimpleNamespace

    from llve.stream.options import StreamOptions
    from llve.view.app import Enhancers, describe

    made = []

    def recording(exposure_control: bool):
        class Recording:  # records what each enhancer was built with
            def __init__(self, weights=None, device="auto", options=StreamOptions()):
                made.append(options.denoise)
                self.model = SimpleNamespace(exposure_control=exposure_control)
        return Recording

    enhancers = Enhancers(recording(True), None, "cpu")
    assert enhancers.filters
    enhancers.get("next", "auto", 0.0)
    assert made[-1] == 0.0
    enhancers.get("next", "auto", 2.5)
    assert made[-1] == 2.5
    assert describe("next", "auto", 0.0) == "partner: next, exposure: auto, noise reduction: 0"
    assert describe("next", None) == "partner: next"
    assert not Enhancers(recording(False), None, "cpu").filters   # the paper's networks: no filters to scale


@pytest.mark.slow
def test_the_steady_sample_does_not_read_as_added_flicker():
    """The bundled sample's first 2 s barely change in brightness (30.4-30.5 of 255): the default weights' output
    moves by 0.2% per frame, which the input's noise floor calls no change (it read 1.52, "adds flicker", when
    the floor was a fixed 0.1%)."""
    clip = load_clip(Path(__file__).resolve().parents[2] / "examples" / "dark_tree.mp4")
    m = measure(clip.frames, [r.y for r in Enhancer(device="cpu").decompose_frames(clip.frames)])
    assert m.flicker_floor > 1e-3 and m.relative_flicker <= 1.05


def test_a_truncated_upload_is_said_on_the_page_not_only_on_stderr(tmp_path, tiny_weights):
    import av

    with av.open(str(tmp_path / "fs.mp4"), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for rgb in synthetic_frames(60, 48, 64):
            c.mux(s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        c.mux(s.encode(None))
    data = (tmp_path / "fs.mp4").read_bytes()
    src = tmp_path / "cut_fs.mp4"
    src.write_bytes(data[: len(data) // 2])
    run = FullRun(tmp_path / "run")
    enhancer = Enhancer(weights=tiny_weights, device="cpu")
    run.run(lambda target: enhance_path(run.stoppable(enhancer), src, target, progress=False), "out.mp4", about=src)
    assert len(run.warnings) == 1 and run.warnings[0].startswith("cut_fs.mp4 is ")
    assert "truncated" in run.warnings[0] and str(tmp_path) not in run.warnings[0]
