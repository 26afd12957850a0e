"""`llve enhance` with awkward names and outputs: colons, long names, outputs that are folders, components that
share the output's path, frames that share a stem."""
import numpy as np
import pytest

from llve.cli import main
from llve.media.frames import write_frame
from tests.conftest import synthetic_frames, write_clip

pytestmark = pytest.mark.slow  # end-to-end: encoders and the network


def run(*args):
    return main(["enhance", *map(str, args), "--quiet"])


def test_a_relative_name_with_a_colon_is_a_file_not_a_protocol(tmp_path, tiny_weights, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_clip(tmp_path / "12:30 night.mp4", synthetic_frames(3, 32, 48))
    assert run("12:30 night.mp4", "--weights", tiny_weights) == 0
    assert run("./12:30 night.mp4", "-o", "12:31 out.mp4", "--weights", tiny_weights) == 0
    assert (tmp_path / "12:30 night_enhanced.mp4").is_file() and (tmp_path / "12:31 out.mp4").is_file()


def test_the_rotation_warning_names_the_output_not_its_temporary_name(tmp_path, tiny_weights, capsys):
    src = write_clip(tmp_path / "phone.mp4", synthetic_frames(3, 32, 48), rotation=90)
    assert run(src, "-o", tmp_path / "out.avi", "--weights", tiny_weights, "--lossless") == 0
    err = capsys.readouterr().err
    assert "llve: warning: out.avi: the input is shown rotated" in err and ".tmp-" not in err


def test_an_input_name_near_the_limit_still_gets_its_default_output(tmp_path, tiny_weights):
    stem = "x" * 236  # the input's name is 240 characters, its output's 249: both legal
    write_clip(tmp_path / f"{stem}.mp4", synthetic_frames(3, 32, 48))
    (tmp_path / stem).mkdir()
    for i in range(2):
        write_frame(tmp_path / stem / f"{'f' * 240}{i}.png", np.full((8, 8, 3), 20, np.uint8))
    assert run(tmp_path / f"{stem}.mp4", "--weights", tiny_weights) == 0
    assert run(tmp_path / stem, "--weights", tiny_weights, "--overwrite") == 0
    assert run(tmp_path / stem, "--weights", tiny_weights, "--overwrite") == 0  # replacing it moves the old aside
    assert (tmp_path / f"{stem}_enhanced.mp4").is_file() and len(list((tmp_path / f"{stem}_enhanced").iterdir())) == 2


def frames(folder, names=("f0.png", "f1.png", "f2.png")):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        write_frame(folder / name, np.full((8, 8, 3), 10 + i, np.uint8))
    return folder


def test_a_frame_folder_output_named_like_a_file_is_refused(tmp_path, tiny_weights, capsys):
    src = frames(tmp_path / "fr")
    assert run(src, "-o", tmp_path / "out.mp4", "--weights", tiny_weights) == 2
    assert "names a file" in capsys.readouterr().err and not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_components_in_the_output_itself_are_refused_before_any_work(tmp_path, tiny_weights, capsys, overwrite):
    src = frames(tmp_path / "fr")
    for out, parts in (("out", "out"), ("out", "out/parts"), ("v.mp4", "v.mp4")):
        kind = src if out == "out" else write_clip(tmp_path / "v_in.mp4", synthetic_frames(3, 16, 16))
        assert run(kind, "-o", tmp_path / out, "--components", tmp_path / parts, *overwrite,
                   "--weights", tiny_weights) == 2
        err = capsys.readouterr().err
        assert "is or is inside the output" in err and "--components" in err
        assert not (tmp_path / out).exists() and not list(tmp_path.glob(f"{out}-1*"))


def test_overwrite_keeps_a_folder_holding_hidden_files(tmp_path, tiny_weights, capsys):
    src = frames(tmp_path / "fr")
    target = frames(tmp_path / "q", ("f0.png", ".keep.png"))
    assert run(src, "-o", target, "--overwrite", "--weights", tiny_weights) == 2
    assert ".keep.png" in capsys.readouterr().err and (target / ".keep.png").is_file()


def test_lossless_frames_that_share_a_stem_are_refused_not_merged(tmp_path, tiny_weights, capsys):
    src = frames(tmp_path / "fr", ("a.jpg", "a.png", "b.png"))
    assert run(src, "-o", tmp_path / "out", "--lossless", "--weights", tiny_weights) == 2
    assert "a.jpg and a.png would both be written as a.png" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert run(src, "-o", tmp_path / "out", "--weights", tiny_weights) == 0  # their own formats: three names
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "a.png", "b.png"]
