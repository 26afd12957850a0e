"""The README's promises, run as a user runs them: ``python -m llve`` in a subprocess on small files made here.

Each test is one promise under hostile but fair use: nothing the user did not ask to replace is
replaced, damage is said, and a user's mistake is one line ``llve: error: ...`` with exit status 2.
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import yaml

from llve.media.frames import write_frame
from tests.conftest import synthetic_frames, write_clip

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders, servers


def llve(*args, cwd=None, preexec_fn=None, check_rc=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "llve", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, preexec_fn=preexec_fn, timeout=600)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def one_line_error(proc, *words) -> str:
    """Exit 2, no traceback, and a last line ``llve: error: ...`` containing ``words``."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("llve: error: "), proc.stderr
    for word in words:
        assert word in line, line
    return line


def listing(folder: Path) -> list[str]:
    """Every entry below ``folder`` (hidden ones included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def frame_count(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def noisy_clip(path: Path, n=60, h=32, w=48, options=None) -> Path:
    """H.264 noise: large packets, so cutting the file in half loses about half the frames."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options=options or {}) as out:
        s = out.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 12)
            out.mux(s.encode(frame))
        out.mux(s.encode(None))
    return path


def frame_folder(path: Path, n=3, h=20, w=28) -> Path:
    path.mkdir(parents=True)
    for i, f in enumerate(synthetic_frames(n, h, w)):
        write_frame(path / f"f{i}.png", f)
    return path


# ---------------------------------------------------------------- enhance: what --overwrite may replace


def test_overwrite_never_deletes_other_files_or_the_input_in_an_output_folder(tmp_path, tiny_weights):
    p = tmp_path / "p"
    frame_folder(p / "fr")
    (p / "keep.txt").write_text("x")
    before = listing(p)
    one_line_error(llve("enhance", p / "fr", "-o", p, "--overwrite", "--weights", tiny_weights, "--quiet"),
                   "holds the input")
    assert listing(p) == before
    q = tmp_path / "q"  # the input elsewhere: a folder that holds more than frames is still refused
    q.mkdir()
    (q / "notes.txt").write_text("mine")
    one_line_error(llve("enhance", p / "fr", "-o", q, "--overwrite", "--weights", tiny_weights, "--quiet"),
                   "notes.txt")
    assert listing(q) == ["notes.txt"]
    old = frame_folder(tmp_path / "old", n=5)  # a folder of frames (an earlier result) is replaced as a whole
    llve("enhance", p / "fr", "-o", old, "--overwrite", "--weights", tiny_weights, "--quiet", check_rc=0)
    assert listing(old) == ["f0.png", "f1.png", "f2.png"]
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n or ".old-" in n]


def test_overwrite_on_the_current_folder_is_refused_and_leaves_nothing(tmp_path, tiny_weights):
    src = frame_folder(tmp_path / "src")
    here = frame_folder(tmp_path / "here")
    one_line_error(llve("enhance", src, "-o", ".", "--overwrite", "--weights", tiny_weights, "--quiet", cwd=here),
                   "current folder")
    assert not [n for n in listing(tmp_path) if "tmp-" in n or "old-" in n]
    assert listing(here) == ["f0.png", "f1.png", "f2.png"]


def test_a_folder_named_like_a_video_is_not_replaced(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "v.mp4", synthetic_frames(3, 16, 16))
    (tmp_path / "dir.mp4").mkdir()
    (tmp_path / "dir.mp4" / "mine.txt").write_text("x")
    one_line_error(llve("enhance", src, "-o", tmp_path / "dir.mp4", "--overwrite", "--weights", tiny_weights,
                        "--quiet"), "is a folder")
    assert listing(tmp_path) == ["dir.mp4", "dir.mp4/mine.txt", "v.mp4"]


def test_components_obey_the_output_rules(tmp_path, tiny_weights):
    c = tmp_path / "c"
    c.mkdir()
    src = write_clip(c / "v_R.mp4", synthetic_frames(4, 16, 16))
    data = src.read_bytes()
    for extra in ((), ("--overwrite",)):  # a derived name never replaces the input, even with --overwrite
        one_line_error(llve("enhance", src, "-o", c / "v.mp4", "--components", c, "--weights", tiny_weights,
                            "--quiet", *extra), "is the input")
        assert src.read_bytes() == data and listing(c) == ["v_R.mp4"]
    other = write_clip(tmp_path / "w.mp4", synthetic_frames(4, 16, 16))
    (c / "w_S.mp4").write_bytes(b"an older component")
    one_line_error(llve("enhance", other, "-o", c / "w.mp4", "--components", c, "--weights", tiny_weights,
                        "--quiet"), "w_S.mp4 exists")
    assert (c / "w_S.mp4").read_bytes() == b"an older component" and not (c / "w.mp4").exists()
    llve("enhance", other, "-o", c / "w.mp4", "--components", c, "--weights", tiny_weights, "--quiet",
         "--overwrite", check_rc=0)
    assert frame_count(c / "w_S.mp4") == frame_count(c / "w_R.mp4") == frame_count(c / "w.mp4") == 4


# ---------------------------------------------------------------- enhance: damage is said


@pytest.mark.parametrize("name,options", [("cut.mkv", None), ("cut.mp4", {"movflags": "faststart"})])
def test_a_truncated_video_is_enhanced_up_to_the_cut_with_a_warning(tmp_path, tiny_weights, name, options):
    full = noisy_clip(tmp_path / ("full" + Path(name).suffix), options=options)
    cut = tmp_path / name
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    proc = llve("enhance", cut, "-o", tmp_path / "out.mkv", "--lossless", "--weights", tiny_weights, "--quiet",
                check_rc=0)
    assert "truncated" in proc.stderr and "llve: warning:" in proc.stderr, proc.stderr
    assert 0 < frame_count(tmp_path / "out.mkv") < 60


def test_a_whole_video_gives_no_truncation_warning(tmp_path, capsys):
    from llve.media.video import read_video

    for name, options in (("a.mkv", None), ("b.mp4", {"movflags": "faststart"}), ("c.mp4", None)):
        assert len(list(read_video(noisy_clip(tmp_path / name, options=options)))) == 60
    clip = write_clip(tmp_path / "sound.mp4", synthetic_frames(9, 16, 16), with_audio=True)
    assert len(list(read_video(clip))) == 9
    assert "warning" not in capsys.readouterr().err


# ---------------------------------------------------------------- enhance: the final rename never clobbers


def _stopped_while_writing(proc: subprocess.Popen, folder: Path, pattern: str) -> None:
    """Stop ``proc`` as soon as its temporary output exists (it is then still decoding and encoding)."""
    deadline = time.monotonic() + 300
    while not list(folder.glob(pattern)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGSTOP)


def test_an_output_that_appears_during_the_run_is_not_replaced(tmp_path, tiny_weights):
    src = noisy_clip(tmp_path / "in.mkv", n=120, h=64, w=96)
    proc = subprocess.Popen([sys.executable, "-m", "llve", "enhance", str(src), "-o", str(tmp_path / "r.mp4"),
                             "--weights", str(tiny_weights), "--quiet"], stderr=subprocess.PIPE, text=True)
    _stopped_while_writing(proc, tmp_path, ".r.tmp-*.mp4")
    assert not (tmp_path / "r.mp4").exists()
    (tmp_path / "r.mp4").write_bytes(b"a second run's finished result")
    os.kill(proc.pid, signal.SIGCONT)
    err = proc.communicate(timeout=600)[1]
    assert proc.returncode == 2 and "appeared while" in err and "r-1.mp4" in err, err
    assert (tmp_path / "r.mp4").read_bytes() == b"a second run's finished result"
    assert frame_count(tmp_path / "r-1.mp4") == 120  # the long run's work is kept, under a free name
    assert not list(tmp_path.glob(".r.tmp-*"))


def test_kill_9_leaves_only_a_hidden_temporary_name_that_the_next_run_ignores(tmp_path, tiny_weights):
    src = noisy_clip(tmp_path / "in.mkv", n=120, h=64, w=96)
    out = tmp_path / "r.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "llve", "enhance", str(src), "-o", str(out),
                             "--weights", str(tiny_weights), "--quiet"], stderr=subprocess.PIPE, text=True)
    _stopped_while_writing(proc, tmp_path, ".r.tmp-*.mp4")
    proc.kill()
    proc.communicate()
    leftovers = list(tmp_path.glob(".r.tmp-*.mp4"))
    assert len(leftovers) == 1 and not out.exists()
    llve("enhance", src, "-o", out, "--weights", tiny_weights, "--quiet", check_rc=0)
    assert frame_count(out) == 120 and leftovers[0].exists()  # not reused, not deleted: another run may own it
    # In a frame folder such a leftover (here: of an image enhanced next to its frames) is not taken for a frame.
    frames = frame_folder(tmp_path / "frames")
    (frames / ".f0_enhanced.tmp-k9x1.png").write_bytes(b"half a png")
    llve("enhance", frames, "--weights", tiny_weights, "--quiet", check_rc=0)
    assert listing(tmp_path / "frames_enhanced") == ["f0.png", "f1.png", "f2.png"]


# ---------------------------------------------------------------- enhance: user errors are one line


def test_webm_output_is_vp9(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "v.mp4", synthetic_frames(4, 16, 24))
    llve("enhance", src, "-o", tmp_path / "notes.webm", "--weights", tiny_weights, "--quiet", check_rc=0)
    with av.open(str(tmp_path / "notes.webm")) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
    assert frame_count(tmp_path / "notes.webm") == 4


def _small_disk():
    """The child process may write at most 1000 bytes per file: what a nearly full disk looks like to it."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


@pytest.mark.parametrize("kind", ["video", "folder"])
def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(tmp_path, tiny_weights, kind):
    if kind == "video":
        src, out = noisy_clip(tmp_path / "in.mkv", n=30, h=96, w=128), tmp_path / "new" / "out.mp4"
    else:
        src, out = frame_folder(tmp_path / "in", n=2, h=96, w=128), tmp_path / "new" / "out"
    before = listing(tmp_path)
    line = one_line_error(llve("enhance", src, "-o", out, "--weights", tiny_weights, "--quiet",
                               preexec_fn=_small_disk), "cannot write", str(out))
    assert ".tmp-" not in line
    assert listing(tmp_path) == before  # no temporary file, and not the folder "new" made for the output


def test_several_inputs_with_an_unwritable_output_folder(tmp_path, tiny_weights):
    a = write_clip(tmp_path / "a.mp4", synthetic_frames(2, 16, 16))
    (tmp_path / "afile").write_text("x")
    one_line_error(llve("enhance", a, frame_folder(tmp_path / "fr"), "-o", tmp_path / "afile" / "sub",
                        "--weights", tiny_weights, "--quiet"), "afile")


def test_a_batch_never_replaces_another_of_its_inputs_and_a_missing_one_fails_alone(tmp_path, tiny_weights):
    a = write_clip(tmp_path / "a.mp4", synthetic_frames(3, 32, 48))
    b = write_clip(tmp_path / "a_enhanced.mp4", synthetic_frames(5, 32, 48, seed=1))
    before = b.read_bytes()
    line = one_line_error(llve("enhance", a, b, tmp_path / "missing.mp4", "-o", tmp_path, "--overwrite",
                               "--weights", tiny_weights, "--quiet"), "2 of 3 inputs failed")
    assert "missing.mp4" in line and b.read_bytes() == before
    assert frame_count(tmp_path / "a_enhanced_enhanced.mp4") == 5


def test_a_manifest_with_torn_and_binary_lines_still_resumes(tmp_path, tiny_weights):
    clips = [write_clip(tmp_path / f"v{i}.mp4", synthetic_frames(3, 32, 48, seed=i)) for i in range(4)]
    out = tmp_path / "out"
    llve("enhance", *clips[:2], "-o", out, "--weights", tiny_weights, "--quiet", check_rc=0)
    with open(out / "llve-manifest.jsonl", "ab") as f:
        f.write(b'\xff\xfe\n{"error": null, "finished": "2026-12-07T09:1')
    llve("enhance", *clips[2:], "-o", out, "--weights", tiny_weights, "--quiet", check_rc=0)
    proc = llve("enhance", *clips, "-o", out, "--weights", tiny_weights, check_rc=0)
    assert "0 done, 4 skipped" in proc.stderr and "Traceback" not in proc.stderr
    assert llve("manifest", out, check_rc=0).stdout.startswith("4 inputs: 0 done, 4 skipped, 0 failed")


def test_bad_device_and_malformed_weights_metadata(tmp_path, tiny_weights):
    from safetensors.torch import load_file, save_file

    src = write_clip(tmp_path / "a.mp4", synthetic_frames(2, 16, 16))
    one_line_error(llve("enhance", src, "--device", "mps", "--weights", tiny_weights, "--quiet"), "mps")
    tensors = load_file(str(tiny_weights))
    for config in ("{not json", "[8, 2]"):
        bad = tmp_path / "bad.safetensors"
        save_file(tensors, str(bad), metadata={"arch": "official", "config": config})
        one_line_error(llve("enhance", src, "--weights", bad, "--quiet"), "metadata")
    assert listing(tmp_path) == ["a.mp4", "bad.safetensors"]


def test_a_failed_run_leaves_no_folder_it_created(tmp_path, tiny_weights):
    frames = frame_folder(tmp_path / "fr", n=3)
    (frames / "f2.png").write_bytes(b"not a png")  # found after the outputs were started
    before = listing(tmp_path)
    one_line_error(llve("enhance", frames, "-o", tmp_path / "new" / "deep" / "out", "--components",
                        tmp_path / "parts", "--weights", tiny_weights, "--quiet"), "f2.png")
    assert listing(tmp_path) == before


# ---------------------------------------------------------------- train: runs, checkpoints, configs


def _config(tmp_path: Path, name="run", iterations=4, **data) -> Path:
    from tests.train.test_train_loop import tiny_config

    cfg = tiny_config(tmp_path, iterations, name)
    cfg["data"].update(data)
    path = tmp_path / f"{name}_{len(list(tmp_path.glob('*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished 4-step run (checkpoints at 2 and 4), copied by each test that changes it."""
    root = tmp_path_factory.mktemp("trained")
    llve("train", "-c", _config(root), check_rc=0)
    return root


def _copy(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    config = tmp_path / "run.yaml"
    cfg = yaml.safe_load((trained / "runs" / "run" / "config.yaml").read_text())
    cfg["out_dir"] = str(tmp_path / "runs")
    cfg["data"]["train"][0]["root"] = str(tmp_path / "imgs")
    config.write_text(yaml.safe_dump(cfg))
    return config


def test_a_fresh_run_into_a_used_run_folder_is_refused(tmp_path, trained):
    config = _copy(trained, tmp_path)
    ckpts = tmp_path / "runs" / "run" / "checkpoints"
    before = {p.name: p.read_bytes() for p in ckpts.iterdir()}
    one_line_error(llve("train", "-c", config), "already holds a run", str(tmp_path / "runs" / "run"))
    assert {p.name: p.read_bytes() for p in ckpts.iterdir()} == before


def test_resume_skips_a_truncated_checkpoint_and_says_so(tmp_path, trained):
    config = _copy(trained, tmp_path)
    ckpts = tmp_path / "runs" / "run" / "checkpoints"
    newest = ckpts / "iter_00000004.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # a save cut short
    (ckpts / ".iter_00000006.tmp-x1y2.pt").write_bytes(b"left by kill -9 during a save")
    cfg = yaml.safe_load(config.read_text())
    cfg["train"]["iterations"] = 6
    config.write_text(yaml.safe_dump(cfg))
    proc = llve("train", "-c", config, "--resume", tmp_path / "runs" / "run", check_rc=0)
    assert "iter_00000004.pt cannot be read" in proc.stderr and "previous good checkpoint iter_00000002.pt" \
        in proc.stderr, proc.stderr
    assert "resumed" in proc.stdout and "at iteration 2" in proc.stdout, proc.stdout
    assert sorted(p.name for p in ckpts.iterdir()) == ["iter_00000004.pt", "iter_00000006.pt"]  # stale tmp gone
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 64)  # a named file that is not a checkpoint: one line, the run folder untouched
    other = _config(tmp_path, name="other")
    one_line_error(llve("train", "-c", other, "--resume", junk), "junk.pt cannot be read")
    assert not (tmp_path / "runs" / "other").exists()


def test_resume_with_another_width_is_one_line_and_keeps_config_yaml(tmp_path, trained):
    config = _copy(trained, tmp_path)
    saved = (tmp_path / "runs" / "run" / "config.yaml").read_bytes()
    cfg = yaml.safe_load(config.read_text())
    cfg["model"]["config"]["width"] = 12
    config.write_text(yaml.safe_dump(cfg))
    one_line_error(llve("train", "-c", config, "--resume", tmp_path / "runs" / "run"), "different network")
    assert (tmp_path / "runs" / "run" / "config.yaml").read_bytes() == saved


@pytest.mark.parametrize("change,words", [
    ({"data": {"batch_size": 0}}, ("batch_size must be at least 1",)),
    ({"data": {"batch_size": -2}}, ("batch_size must be at least 1",)),
    ({"model": {"config": {"width": 8, "heads": 3}}}, ("divisible by heads",)),
    ("binary", ("not a text file",)),
])
def test_config_mistakes_are_one_line_and_create_nothing(tmp_path, change, words):
    config = _config(tmp_path)
    if change == "binary":
        config.write_bytes(bytes(range(256)) * 8)
    else:
        cfg = yaml.safe_load(config.read_text())
        for section, values in change.items():
            cfg[section].update(values)
        config.write_text(yaml.safe_dump(cfg))
    one_line_error(llve("train", "-c", config), *words)
    assert not (tmp_path / "runs").exists()


def test_an_unreadable_training_image_in_a_worker_is_one_line(tmp_path):
    config = _config(tmp_path, workers=2)
    for k in (1, 2, 3, 4):  # item 0 is fine (checked before training starts): the damage is found by a worker
        (tmp_path / "imgs" / "low" / f"{k}.png").write_bytes(b"not a png")
    line = one_line_error(llve("train", "-c", config), "cannot read image")
    assert "DataLoader" not in line
