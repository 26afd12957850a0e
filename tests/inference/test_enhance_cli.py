"""`llve enhance` end to end: videos, folders, images, components, and every kind of bad input."""
import os
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest

from llve.cli import main
from llve.media.frames import write_frame
from llve.media.video import probe_video
from tests.conftest import SHARED, synthetic_frames, write_clip

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders, servers


def run(*args):
    return main(["enhance", *map(str, args), "--quiet"])


class StreamFacts:
    def __init__(self, stream):  # read while the container is open: a closed stream's fields are garbage
        self.base_rate = stream.base_rate
        self.codec = stream.codec_context.name
        self.pix_fmt = stream.codec_context.pix_fmt


def decode_all(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in c.decode(s)], StreamFacts(s)


def test_video_keeps_count_rate_size_and_audio(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "dark.mp4", synthetic_frames(9, 36, 52), fps=12, with_audio=True)
    assert run(src, "--weights", tiny_weights) == 0
    out = tmp_path / "dark_enhanced.mp4"
    frames, stream = decode_all(out)
    info_in, info_out = probe_video(src), probe_video(out)
    assert len(frames) == 9 and frames[0].shape == (36, 52, 3)
    assert stream.base_rate == info_in.fps == 12
    assert stream.codec == "h264" and stream.pix_fmt == "yuv420p"
    assert info_out.has_audio
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"


def first_frame_rotation(path):
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).rotation


@pytest.mark.parametrize("rotation", [90, -90, -180])
def test_a_rotated_phone_clip_stays_rotated_in_every_output(tmp_path, tiny_weights, capsys, rotation):
    """Portrait phone clips are stored landscape plus a display rotation: the outputs (H.264, lossless, and the R/S
    components) carry it, so they play upright like the input; .avi, which cannot, says so."""
    src = write_clip(tmp_path / "phone.mp4", synthetic_frames(3, 32, 48), rotation=rotation)
    assert first_frame_rotation(src) == rotation
    assert run(src, "--weights", tiny_weights, "--components", tmp_path / "parts") == 0
    assert run(src, "-o", tmp_path / "lossless.mkv", "--weights", tiny_weights, "--lossless") == 0
    outputs = [tmp_path / "phone_enhanced.mp4", tmp_path / "lossless.mkv", *sorted((tmp_path / "parts").iterdir())]
    assert len(outputs) == 4 and [first_frame_rotation(p) for p in outputs] == [rotation] * 4
    assert decode_all(outputs[0])[0][0].shape == (32, 48, 3)  # enhanced as stored: only playback turns it
    capsys.readouterr()
    assert run(src, "-o", tmp_path / "out.avi", "--weights", tiny_weights, "--lossless") == 0
    assert "cannot record" in capsys.readouterr().err and first_frame_rotation(tmp_path / "out.avi") == 0
    plain = write_clip(tmp_path / "plain.mp4", synthetic_frames(3, 32, 48))
    assert probe_video(plain).display_matrix is None and probe_video(src).display_matrix is not None


def test_a_video_output_says_how_it_was_enhanced(tmp_path, tiny_weights):
    """The container's comment tag names the llve version, the weights file and the settings that made it."""
    from llve import __version__

    src = write_clip(tmp_path / "in.mp4", synthetic_frames(3, 32, 48))
    comments = []
    for name, flags in (("plain.mp4", []), ("filtered.mkv", ["--temporal-filter", "on", "--denoise", "2",
                                                              "--lossless"])):
        assert run(src, "-o", tmp_path / name, "--weights", tiny_weights, *flags) == 0
        with av.open(str(tmp_path / name)) as c:
            comments.append({k.lower(): v for k, v in c.metadata.items()}["comment"])
    assert comments[0] == (f"enhanced by llve {__version__}: weights tiny.safetensors, exposure none (these weights "
                           "have no control), temporal filter off, spatial filter off, denoise 1")
    assert "temporal filter on, spatial filter off, denoise 2" in comments[1]


def test_odd_size_video_and_lossless_ffv1(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "odd.mkv", synthetic_frames(4, 21, 33), codec="ffv1")
    assert run(src, "--weights", tiny_weights, "--lossless") == 0
    frames, stream = decode_all(tmp_path / "odd_enhanced.mkv")
    assert len(frames) == 4 and frames[0].shape == (21, 33, 3) and stream.codec == "ffv1"
    assert run(src, "-o", tmp_path / "odd.mp4", "--weights", tiny_weights) == 0
    frames, stream = decode_all(tmp_path / "odd.mp4")
    assert frames[0].shape == (21, 33, 3) and stream.pix_fmt == "yuv444p"


def test_lossless_video_equals_api_output(tmp_path, tiny_weights):
    """FFV1 output is bit-exact: the file holds exactly what the Python API returns."""
    from llve.media.video import read_video
    from llve.run.enhancer import Enhancer

    src = write_clip(tmp_path / "in.mkv", synthetic_frames(3, 16, 24), codec="ffv1")
    assert run(src, "-o", tmp_path / "out.mkv", "--weights", tiny_weights, "--lossless") == 0
    api = list(Enhancer(weights=tiny_weights, device="cpu").enhance_frames(f for f, _ in read_video(src)))
    frames, _ = decode_all(tmp_path / "out.mkv")
    assert all(np.array_equal(a, b) for a, b in zip(api, frames)) and len(frames) == 3


def test_frame_folder_with_components(tmp_path, tiny_weights):
    folder = tmp_path / "clip"
    folder.mkdir()
    for i, f in enumerate(synthetic_frames(3, 20, 28)):
        write_frame(folder / f"f{i * 5}.png", f)
    assert run(folder, "--weights", tiny_weights, "--components", tmp_path / "comp") == 0
    out = tmp_path / "clip_enhanced"
    assert sorted(p.name for p in out.iterdir()) == ["f0.png", "f10.png", "f5.png"]
    r = cv2.imread(str(tmp_path / "comp" / "clip_enhanced_R" / "f5.png")).astype(float) / 255
    s = cv2.imread(str(tmp_path / "comp" / "clip_enhanced_S" / "f5.png")).astype(float) / 255
    y = cv2.imread(str(out / "f5.png")).astype(float) / 255
    assert np.abs(r * s - y).max() < 3 / 255  # Y = R * S up to 8-bit rounding


def test_npy_folder_keeps_npy(tmp_path, tiny_weights):
    (tmp_path / "seq").mkdir()
    for i, f in enumerate(synthetic_frames(2, 12, 12)):
        np.save(tmp_path / "seq" / f"{i:03d}.npy", f)
    assert run(tmp_path / "seq", "-o", tmp_path / "o", "--weights", tiny_weights) == 0
    assert np.load(tmp_path / "o" / "001.npy").shape == (12, 12, 3)


@pytest.mark.parametrize("img,said", [
    (np.full((10, 14), 30, np.uint8), "grayscale"),
    (np.full((10, 14, 4), 30, np.uint8), "alpha"),
    (np.full((10, 14, 3), 30 * 257, np.uint16), "16-bit"),
])
def test_image_conversions_are_said(tmp_path, tiny_weights, capsys, img, said):
    cv2.imwrite(str(tmp_path / "x.png"), img)
    assert run(tmp_path / "x.png", "--weights", tiny_weights) == 0
    assert said in capsys.readouterr().err
    assert cv2.imread(str(tmp_path / "x_enhanced.png")).shape == (10, 14, 3)


def test_refuses_to_overwrite_input_or_existing_output(tmp_path, tiny_weights, capsys):
    src = tmp_path / "x.png"
    write_frame(src, synthetic_frames(1, 8, 8)[0])
    before = src.read_bytes()
    assert run(src, "-o", src, "--weights", tiny_weights) == 2
    assert "is the input" in capsys.readouterr().err and src.read_bytes() == before
    (tmp_path / "y.png").write_bytes(b"keep")
    assert run(src, "-o", tmp_path / "y.png", "--weights", tiny_weights) == 2
    assert (tmp_path / "y.png").read_bytes() == b"keep"
    assert run(src, "-o", tmp_path / "y.png", "--weights", tiny_weights, "--overwrite") == 0
    assert (tmp_path / "y.png").read_bytes() != b"keep"


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("llve: error: ") and "Traceback" not in err[0]
    return err[0]


def test_the_cli_names_the_flag_that_resolves_a_library_error(tmp_path, tiny_weights, capsys):
    # The library says "tile 10 is too small" and "output ... exists"; the command line adds the flag.
    src = tmp_path / "x.png"
    write_frame(src, synthetic_frames(1, 8, 8)[0])
    assert run(src, "--tile", "10", "--weights", tiny_weights) == 2
    line = _error_line(capsys)
    assert line.startswith("llve: error: tile 10 is too small") and line.endswith("; set by --tile")
    (tmp_path / "y.png").write_bytes(b"keep")
    assert run(src, "-o", tmp_path / "y.png", "--weights", tiny_weights) == 2
    assert _error_line(capsys).endswith("y.png exists; pass --overwrite to replace it")


def test_bad_inputs_exit_2_with_one_line(tmp_path, tiny_weights, capsys):
    assert run(tmp_path / "missing.mp4", "--weights", tiny_weights) == 2
    assert "not found" in _error_line(capsys)
    (tmp_path / "junk.mp4").write_bytes(os.urandom(2000))
    assert run(tmp_path / "junk.mp4", "--weights", tiny_weights) == 2
    assert "junk.mp4" in _error_line(capsys)
    (tmp_path / "empty").mkdir()
    assert run(tmp_path / "empty", "--weights", tiny_weights) == 2
    assert "no frames" in _error_line(capsys)
    torch_junk = tmp_path / "w.pth"
    torch_junk.write_bytes(b"nope")
    write_frame(tmp_path / "a.png", synthetic_frames(1, 8, 8)[0])
    assert run(tmp_path / "a.png", "--weights", torch_junk) == 2
    assert "state_dict" in _error_line(capsys)
    assert run(tmp_path / "a.png", "--weights", tmp_path / "nowhere.pth") == 2
    assert "weights file not found" in _error_line(capsys)
    assert run(tmp_path / "a.png", "-o", tmp_path / "a.mp4", "--weights", tiny_weights) == 2
    assert "image file name" in _error_line(capsys)
    assert not list(tmp_path.glob(".*tmp-*")), "temporary files left behind"


def test_zero_frame_video(tmp_path, tiny_weights, capsys):
    for name in ("empty.mkv", "empty.mp4"):
        _write_empty(tmp_path / name)
        assert run(tmp_path / name, "--weights", tiny_weights) == 2
        assert "no frames" in _error_line(capsys)


def _write_empty(path):
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 16, 16, "yuv420p"
        out.start_encoding()  # header only, no frame
    assert path.is_file()


def test_truncated_video_keeps_decodable_frames_and_warns(tmp_path, tiny_weights, capsys):
    src = write_clip(tmp_path / "full.mkv", synthetic_frames(12, 32, 32), codec="ffv1")
    data = src.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert run(cut, "--weights", tiny_weights) == 0
    frames, _ = decode_all(tmp_path / "cut_enhanced.mkv")
    err = capsys.readouterr().err
    assert 0 < len(frames) < 12
    if "truncated" not in err:  # FFmpeg may stop silently at a clean packet boundary
        assert len(frames) == sum(1 for _ in av.open(str(cut)).decode(video=0))


def test_failure_midway_leaves_no_output(tmp_path, tiny_weights, monkeypatch):
    from llve.run.enhancer import Enhancer

    src = write_clip(tmp_path / "v.mp4", synthetic_frames(6, 16, 16))
    original = Enhancer.stream

    def failing(self, items, components=True):
        for i, d in enumerate(original(self, items, components)):
            if i == 3:
                raise RuntimeError("simulated crash")
            yield d

    monkeypatch.setattr(Enhancer, "stream", failing)
    with pytest.raises(RuntimeError):
        run(src, "--weights", tiny_weights, "--components", tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]  # nor the components folder it created


def test_python_api(tmp_path, tiny_weights):
    from llve.run.enhance import enhance_path
    from llve.run.enhancer import Enhancer

    enhancer = Enhancer(weights=tiny_weights, device="cpu")
    src = write_clip(tmp_path / "v.mp4", synthetic_frames(3, 16, 16))
    out = enhance_path(enhancer, src, tmp_path / "o.mp4", progress=False)
    assert len(decode_all(out)[0]) == 3


REAL_DARK = SHARED / "data" / "real_dark"


@pytest.mark.skipif(not REAL_DARK.is_dir(), reason="needs ../shared/data/real_dark")
def test_cli_subprocess_on_real_dark_clip(tmp_path, tiny_weights):
    """A real low-light clip through the installed command, as a user runs it."""
    clip = sorted(p for p in REAL_DARK.iterdir() if p.is_dir())[0]
    frames = [cv2.imread(str(p))[:, :, ::-1] for p in sorted(clip.glob("frame*.png"))]
    src = write_clip(tmp_path / "real.mp4", [f[:128, :160].copy() for f in frames], fps=5)
    proc = subprocess.run([sys.executable, "-m", "llve", "enhance", str(src), "-o", str(tmp_path / "out.mp4"),
                           "--weights", str(tiny_weights)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(decode_all(tmp_path / "out.mp4")[0]) == len(frames) >= 2
    bad = subprocess.run([sys.executable, "-m", "llve", "enhance", str(tmp_path / "nope.mp4")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGHUP"])  # a kill, a closed terminal
def test_sigterm_or_sighup_leaves_no_partial_file(tmp_path, tiny_weights, signum):
    import signal
    import time

    src = write_clip(tmp_path / "long.mp4", synthetic_frames(200, 32, 32), fps=25)
    proc = subprocess.Popen([sys.executable, "-m", "llve", "enhance", str(src), "-o", str(tmp_path / "out.mp4"),
                             "--weights", str(tiny_weights), "--quiet"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".out.tmp-*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(getattr(signal, signum))
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("finished before the signal arrived")
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]


def test_several_inputs_into_one_folder_with_one_network(tmp_path, tiny_weights, capsys):
    a = write_clip(tmp_path / "a.mp4", synthetic_frames(3, 20, 24), fps=10)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, f in enumerate(synthetic_frames(2, 20, 24)):
        write_frame(frames / f"{i}.png", f)
    assert run(a, frames, "-o", tmp_path / "out", "--weights", tiny_weights) == 0
    assert len(decode_all(tmp_path / "out" / "a_enhanced.mp4")[0]) == 3
    assert sorted(p.name for p in (tmp_path / "out" / "frames_enhanced").iterdir()) == ["0.png", "1.png"]
    assert not (tmp_path / "a_enhanced.mp4").exists()


def test_several_inputs_without_output_go_next_to_each(tmp_path, tiny_weights):
    (tmp_path / "x").mkdir()
    a = write_clip(tmp_path / "x" / "a.mp4", synthetic_frames(2, 20, 24), fps=10)
    b = write_clip(tmp_path / "b.mkv", synthetic_frames(2, 20, 24), codec="ffv1")
    assert run(a, b, "--weights", tiny_weights) == 0
    assert (tmp_path / "x" / "a_enhanced.mp4").is_file() and (tmp_path / "b_enhanced.mkv").is_file()


def test_a_bad_input_among_several_is_named_and_fails_the_run(tmp_path, tiny_weights, capsys):
    good = write_clip(tmp_path / "good.mp4", synthetic_frames(2, 20, 24), fps=10)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    assert run(junk, good, "-o", tmp_path / "out", "--weights", tiny_weights) == 2
    err = capsys.readouterr().err
    assert "failed" in err and "junk.mp4" in err and "1 of 2 inputs failed" in err
    assert "Traceback" not in err
    assert (tmp_path / "out" / "good_enhanced.mp4").is_file()
    assert not (tmp_path / "out" / "junk_enhanced.mp4").exists()


def test_several_inputs_clashing_names_or_a_file_as_folder_are_refused(tmp_path, tiny_weights, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "q").mkdir()
    a = write_clip(tmp_path / "p" / "a.mp4", synthetic_frames(2, 20, 24), fps=10)
    b = write_clip(tmp_path / "q" / "a.mp4", synthetic_frames(2, 20, 24), fps=10)
    assert run(a, b, "-o", tmp_path / "out", "--weights", tiny_weights) == 2
    assert "would both be written" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    file_out = tmp_path / "taken.mp4"
    file_out.write_bytes(b"x")
    assert run(a, b, "-o", file_out, "--weights", tiny_weights) == 2
    assert "names a folder" in capsys.readouterr().err
    assert file_out.read_bytes() == b"x"
