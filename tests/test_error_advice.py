"""The advice after an error names a flag of the command that failed, once."""
import pytest

from llve.cli import main
from llve.core.errors import UserInputError
from llve.media.frames import write_frame
from llve.train.checkpoints import check_run_folder
from tests.conftest import synthetic_frames, write_clip


def error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("llve: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_components_folder_that_cannot_be_made_names_components(tmp_path, tiny_weights, capsys):
    write_frame(tmp_path / "in.png", synthetic_frames(1, 16, 16)[0])
    (tmp_path / "afile").write_text("x")
    assert main(["enhance", str(tmp_path / "in.png"), "--components", str(tmp_path / "afile" / "parts"),
                 "--weights", str(tiny_weights), "--quiet"]) == 2
    line = error(capsys)
    assert line.endswith("choose another --components folder") and " -o" not in line


def test_export_names_onnx(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["export", "--onnx", str(tmp_path / "afile" / "m.onnx")]) == 2
    line = error(capsys)
    assert line.endswith("choose another --onnx path") and " -o" not in line


def test_the_used_run_folder_refusal_says_each_way_out_once(tmp_path, capsys):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "iter_10.pt").write_bytes(b"x")
    with pytest.raises(UserInputError) as caught:
        check_run_folder(tmp_path, None)
    from llve.cli import error_line

    line = error_line(caught.value, "train")
    assert line.count("continue") == 1 and "--resume" in line and "another name or out_dir" in line


@pytest.mark.slow
def test_llve_test_names_out(tmp_path, capsys):
    (tmp_path / "vids").mkdir()
    write_clip(tmp_path / "vids" / "v.mp4", synthetic_frames(3, 32, 48))
    (tmp_path / "t.yaml").write_text(f"method: gamma\ndata: {{kind: none, root: {tmp_path / 'vids'}}}\n")
    (tmp_path / "res").write_text("a file")
    assert main(["test", "-c", str(tmp_path / "t.yaml"), "--out", str(tmp_path / "res"), "--quiet"]) == 2
    line = error(capsys)
    assert line.endswith("choose another --out folder") and " -o" not in line
