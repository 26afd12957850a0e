"""What `llve` prints: --version, -q (no bar, the result line stays), -qq / --log-level (silence but errors)."""
import pytest

from llve import __version__
from llve.cli import main
from tests.conftest import synthetic_frames, write_clip


@pytest.fixture()
def clip(tmp_path):
    return write_clip(tmp_path / "dark.mp4", synthetic_frames(4, 32, 48), fps=12)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"llve {__version__}"


def test_quiet_hides_the_bar_but_not_what_auto_chose(clip, capsys):
    """The default weights' result line says what `auto` chose; -q keeps it, and only it."""
    assert main(["enhance", str(clip), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("wrote ") and "(exposure auto: target" in err and err.count("\n") == 1
    assert main(["enhance", str(clip), "--overwrite"]) == 0
    assert "frame/s" in capsys.readouterr().err  # without -q: the bar


def test_qq_and_log_level_silence_all_but_errors(clip, tiny_weights, capsys):
    """Weights without exposure control warn that they ignore --exposure: -qq hides that too, --log-level warning
    keeps it (and drops the result line); an error is said whatever the level."""
    args = ["enhance", str(clip), "--weights", str(tiny_weights), "--exposure", "0.5", "--overwrite"]
    assert main([*args, "-qq"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main([*args, "--log-level", "warning"]) == 0
    err = capsys.readouterr().err
    assert "llve: warning:" in err and "wrote" not in err and "frame/s" not in err
    assert main([*args, "--log-level", "error"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["enhance", str(clip.with_name("missing.mp4")), "-qq"]) == 2
    assert capsys.readouterr().err.startswith("llve: error: input not found")
    assert main([*args, "-q"]) == 0  # the level does not stick to the process
    assert "llve: warning:" in capsys.readouterr().err


def test_each_output_of_a_batch_says_what_auto_chose(tmp_path, capsys):
    """Several inputs: -q keeps one line per output with the exposure choice, also kept in the manifest."""
    import json

    clips = [write_clip(tmp_path / f"{n}.mp4", synthetic_frames(3, 32, 48, seed=i), fps=12) for i, n in enumerate("ab")]
    assert main(["enhance", *map(str, clips), "-o", str(tmp_path / "out"), "-q"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert sorted(line.split(" (exposure auto: target")[0] for line in lines[:2]) == [
        f"wrote {tmp_path / 'out' / n}_enhanced.mp4" for n in "ab"]
    records = [json.loads(r) for r in (tmp_path / "out" / "llve-manifest.jsonl").read_text().splitlines()]
    assert all(r["exposure"].startswith("exposure auto: target") for r in records)
