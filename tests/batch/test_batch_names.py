"""Which names a batch may write: never another input of the run, never a file it did not make, and a missing
input fails alone."""
import hashlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from llve.batch.jobs import Context, EnhancerConfig, Job, OutputConfig, Shard, fingerprint
from llve.batch.ray_engine import EnhanceWorker
from llve.cli import main
from tests.batch.helpers import decode, make_clips, manifest_lines
from tests.conftest import synthetic_frames, write_clip


def enhance(*args) -> int:
    return main(["enhance", *map(str, args), "--quiet"])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_overwrite_never_replaces_another_input_of_the_same_run(tmp_path, tiny_weights, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_clip(tmp_path / "a.mp4", synthetic_frames(4, 48, 64))
    other = write_clip(tmp_path / "a_enhanced.mp4", synthetic_frames(7, 48, 64, seed=1))
    before = digest(other)
    for output in (["-o", "."], []):  # into a folder, and next to each input
        assert enhance("a.mp4", "a_enhanced.mp4", *output, "--overwrite", "--weights", tiny_weights) == 2
        assert "a_enhanced.mp4 is another input of this run" in capsys.readouterr().err
        assert digest(other) == before
        assert len(decode(tmp_path / "a_enhanced_enhanced.mp4")) == 7  # made from the untouched input


def test_a_component_is_never_another_input_either(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=2)
    taken = clips[1].rename(tmp_path / "in" / "clip0_enhanced_R.mp4")
    before = digest(taken)
    assert enhance(clips[0], taken, "-o", tmp_path / "out", "--components", tmp_path / "in", "--overwrite",
                   "--weights", tiny_weights) == 2
    assert "another input of this run" in capsys.readouterr().err and digest(taken) == before


def test_a_missing_input_fails_alone_and_the_others_are_done(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert enhance(*clips, tmp_path / "missing.mp4", tmp_path / "gone", "-o", out, "--weights", tiny_weights) == 2
    err = capsys.readouterr().err
    assert "input not found" in err and "2 of 4 inputs failed" in err
    status = {Path(r["input"]).name: r["status"] for r in manifest_lines(out)}
    assert status == {"clip0.mp4": "done", "clip1.mp4": "done", "missing.mp4": "failed", "gone": "failed"}


def test_a_ray_worker_never_adopts_an_output_that_appeared_while_its_job_waited(tmp_path, tiny_weights):
    clip = make_clips(tmp_path / "in", count=1)[0]
    out = tmp_path / "out" / "clip0_enhanced.mp4"
    job = Job(clip, out, fingerprint(clip))  # planned while the output did not exist
    out.parent.mkdir()
    foreign = write_clip(out.parent / "x.mp4", synthetic_frames(3, 24, 32)).rename(out)  # then another program
    before = digest(foreign)
    worker = EnhanceWorker(EnhancerConfig(str(tiny_weights)), threads=1)  # the actor's class, run in this process
    record = worker.enhance(job, Context("w", OutputConfig(), Shard()))
    assert record.status == "failed" and "exists" in record.error and digest(foreign) == before


@settings(max_examples=8, deadline=None)
@given(names=st.lists(st.sampled_from(["a", "a_enhanced", "a_enhanced_enhanced", "b", "b_enhanced"]), min_size=2,
                      max_size=4, unique=True), into_folder=st.booleans())
def test_overwrite_never_changes_an_input_whatever_the_names(tmp_path_factory, tiny_weights, names, into_folder):
    folder = tmp_path_factory.mktemp("names")
    clips = [write_clip(folder / f"{n}.mp4", synthetic_frames(2 + i, 16, 16, seed=i)) for i, n in enumerate(names)]
    before = [digest(c) for c in clips]
    output = ["-o", str(folder)] if into_folder else []
    assert enhance(*clips, *output, "--overwrite", "--weights", tiny_weights) in (0, 2)
    assert [digest(c) for c in clips] == before
    for i, clip in enumerate(clips):  # each output that is not another input is made from its own input
        out = folder / f"{clip.stem}_enhanced.mp4"
        if out not in clips:
            assert len(decode(out)) == 2 + i
