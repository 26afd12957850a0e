"""Scheduler variables and Ray options that make no sense are one-line errors before any work."""
import pytest

from llve.batch.jobs import parse_shard
from llve.cli import main
from tests.batch.helpers import make_clips


@pytest.mark.parametrize("environ", [{"RANK": "abc"}, {"WORLD_SIZE": ""}, {"SLURM_ARRAY_TASK_ID": "abc"},
                                     {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "x"},
                                     {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2",
                                      "SLURM_ARRAY_TASK_STEP": "0"}])
def test_malformed_scheduler_variables_are_named(environ):
    with pytest.raises(Exception, match="^shard auto: ") as caught:
        parse_shard("auto", environ)
    assert type(caught.value).__name__ == "UserInputError"


@pytest.mark.parametrize("flag", ["--cpus-per-task", "--gpus-per-task"])
def test_a_ray_resource_that_is_not_a_number_is_refused_before_ray_starts(tmp_path, tiny_weights, capsys, flag):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert main(["enhance", *map(str, clips), "-o", str(out), "--engine", "ray", flag, "nan",
                 "--weights", str(tiny_weights), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("llve: error: cpus_per_task must be > 0") and err.count("\n") == 1
    assert not out.exists()


def test_a_single_input_refuses_ray_options_like_a_batch(tmp_path, tiny_weights, capsys):
    clip = make_clips(tmp_path / "in", count=1)[0]
    assert main(["enhance", str(clip), "--cpus-per-task", "2", "--weights", str(tiny_weights), "--quiet"]) == 2
    assert "need --engine ray" in capsys.readouterr().err
    assert not (tmp_path / "in" / "clip0_enhanced.mp4").exists()
