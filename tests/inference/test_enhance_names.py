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
