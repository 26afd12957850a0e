"""Batch enhancement without Ray: shards, manifests, resume, isolated failures, torchrun's --shard auto."""
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from llve.batch.jobs import Shard, assign_shards, parse_shard, read_manifests
from llve.cli import main
from tests.batch.helpers import decode, make_clips, manifest_lines
from tests.conftest import synthetic_frames, write_clip

REPO = Path(__file__).resolve().parents[2]


def enhance(*args) -> int:
    return main(["enhance", *map(str, args), "--quiet"])


def mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.suffix == ".mp4"}


def test_shard_parsing_from_text_torchrun_and_slurm_arrays():
    assert parse_shard("2/3") == Shard(2, 3) and Shard(2, 3).manifest_name == "llve-manifest.2-of-3.jsonl"
    assert parse_shard("auto", {}) == Shard(1, 1) and Shard().manifest_name == "llve-manifest.jsonl"
    assert parse_shard("auto", {"RANK": "1", "WORLD_SIZE": "2"}) == Shard(2, 2)
    slurm = {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}
    assert parse_shard("auto", slurm) == Shard(4, 4)  # --array=1-4
    assert parse_shard("auto", {**slurm, "SLURM_ARRAY_TASK_ID": "1"}) == Shard(1, 4)
    stepped = {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2",
               "SLURM_ARRAY_TASK_COUNT": "3"}
    assert parse_shard("auto", stepped) == Shard(3, 3)  # --array=0-4:2
    # torchrun inside each task of an array: array task 2 of 4 (0-based 1), rank 1 of 2 -> shard 4 of 8
    assert parse_shard("auto", {**slurm, "SLURM_ARRAY_TASK_ID": "2", "RANK": "1", "WORLD_SIZE": "2"}) == Shard(4, 8)
    for bad in ("3/2", "0/2", "2", "a/b"):
        with pytest.raises(Exception, match="^shard"):
            parse_shard(bad)
    with pytest.raises(Exception, match="not one of"):
        parse_shard("auto", {**stepped, "SLURM_ARRAY_TASK_ID": "3"})


def test_split_is_balanced_by_size_and_independent_of_the_order_given():
    sizes = [100, 90, 60, 50, 10, 5, 5, 1]
    keys = [f"v{i}" for i in range(len(sizes))]
    shard_of = assign_shards(sizes, keys, 3)
    loads = [sum(s for s, k in zip(sizes, shard_of) if k == shard) for shard in (1, 2, 3)]
    assert sorted(loads) == [105, 106, 110]  # of 321 bytes: the largest-first greedy split
    order = [5, 2, 7, 0, 3, 6, 1, 4]
    again = assign_shards([sizes[i] for i in order], [keys[i] for i in order], 3)
    assert {keys[i]: s for i, s in zip(order, again)} == dict(zip(keys, shard_of))


def test_two_shards_do_every_clip_once_and_a_rerun_rewrites_nothing(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in")
    out = tmp_path / "out"
    for k in (1, 2):
        assert enhance(*clips, "-o", out, "--weights", tiny_weights, "--shard", f"{k}/2") == 0
    records = manifest_lines(out)
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["llve-manifest.1-of-2.jsonl", "llve-manifest.2-of-2.jsonl"]
    assert sorted(r["output"] for r in records) == sorted(str(out / f"clip{i}_enhanced.mp4") for i in range(6))
    assert {r["status"] for r in records} == {"done"} and {r["frames"] for r in records} == {6}
    assert Counter(r["shard"] for r in records) == {"1/2": 3, "2/2": 3}
    assert all(len(decode(out / f"clip{i}_enhanced.mp4")) == 6 for i in range(6))
    before = mtimes(out)
    capsys.readouterr()
    for k in (1, 2):
        assert main(["enhance", *map(str, clips), "-o", str(out), "--weights", str(tiny_weights),
                     "--shard", f"{k}/2"]) == 0
        assert "0 done, 3 skipped" in capsys.readouterr().err
    assert mtimes(out) == before and sorted(p.name for p in out.iterdir() if p.name.startswith("."))  == []
    assert Counter(r["status"] for r in manifest_lines(out)) == {"done": 6, "skipped": 6}
    latest = read_manifests(out)  # reading the shards together: the newest record per output
    assert len(latest) == 6 and {r.status for r in latest.values()} == {"skipped"}


def test_a_corrupt_input_is_failed_while_the_others_are_done(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in")
    clips[3].write_bytes(clips[3].read_bytes()[:200])  # cut short: the header and no decodable frame
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 2
    err = capsys.readouterr().err
    assert "1 of 6 inputs failed" in err and "clip3.mp4" in err and "Traceback" not in err
    status = {Path(r["input"]).name: r for r in manifest_lines(out)}
    assert status["clip3.mp4"]["status"] == "failed" and "clip3.mp4" in status["clip3.mp4"]["error"]
    assert all(status[f"clip{i}.mp4"]["status"] == "done" for i in (0, 1, 2, 4, 5))
    assert not (out / "clip3_enhanced.mp4").exists()
    # A rerun skips the five and tries the failed one again (repaired now): done.
    write_clip(clips[3], synthetic_frames(6, 48, 64))
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    latest = {Path(r.input).name: r.status for r in read_manifests(out).values()}
    assert latest == {f"clip{i}.mp4": "done" if i == 3 else "skipped" for i in range(6)}


def test_changed_input_weights_or_overwrite_redo_only_what_they_must(tmp_path, tiny_weights):
    clips = make_clips(tmp_path / "in", count=3)
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    first = mtimes(out)
    os.utime(clips[1], ns=(clips[1].stat().st_atime_ns, clips[1].stat().st_mtime_ns + 10**9))  # touched
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    second = mtimes(out)
    assert [second[k] != first[k] for k in sorted(first)] == [False, True, False]
    assert enhance(*clips, "-o", out, "--weights", tiny_weights, "--tile", "64") == 0  # another setting: redo all
    third = mtimes(out)
    assert all(third[k] != second[k] for k in first)
    assert enhance(*clips, "-o", out, "--weights", tiny_weights, "--tile", "64", "--overwrite") == 0
    assert all(mtimes(out)[k] != third[k] for k in first)


@pytest.mark.parametrize("flag, value", [("--temporal-filter", "on"), ("--spatial-filter", "on"), ("--denoise", "2")])
def test_a_rerun_with_another_noise_filter_setting_redoes_every_output(tmp_path, tiny_weights, flag, value):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    first = mtimes(out)
    assert enhance(*clips, "-o", out, "--weights", tiny_weights, flag, value) == 0
    assert all(mtimes(out)[k] != first[k] for k in first)


def test_the_same_files_under_another_path_are_still_skipped(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    (tmp_path / "mount").symlink_to(tmp_path / "in")  # another node's mount point of the same storage
    before = mtimes(out)
    capsys.readouterr()
    assert main(["enhance", *(str(tmp_path / "mount" / c.name) for c in clips), "-o", str(out),
                 "--weights", str(tiny_weights)]) == 0
    assert "0 done, 2 skipped" in capsys.readouterr().err and mtimes(out) == before


def test_a_batch_whose_manifest_has_the_older_settings_layout_resumes(tmp_path, tiny_weights, capsys):
    """Manifests written before the stream settings were one field: their lines still read, and still skip."""
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    manifest = out / "llve-manifest.jsonl"
    older = []
    for line in manifest_lines(out):
        stream = line["settings"].pop("stream")
        line["settings"].update(tile=stream["tile"], fp16=False, exposure=str(stream["exposure"]), denoise=1.0,
                                temporal_filter=stream["temporal_filter"], spatial_filter=stream["spatial_filter"])
        older.append(json.dumps(line))
    manifest.write_text("\n".join(older) + "\n")
    before = mtimes(out)
    capsys.readouterr()
    assert main(["enhance", *map(str, clips), "-o", str(out), "--weights", str(tiny_weights)]) == 0
    err = capsys.readouterr().err
    assert "0 done, 2 skipped" in err and "ignored" not in err and mtimes(out) == before


def test_an_output_llve_did_not_record_is_never_replaced(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip0_enhanced.mp4").write_bytes(b"someone's file")
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 2
    assert "exists" in capsys.readouterr().err
    assert (out / "clip0_enhanced.mp4").read_bytes() == b"someone's file"
    assert {Path(r["input"]).name: r["status"] for r in manifest_lines(out)} == {"clip0.mp4": "failed",
                                                                                "clip1.mp4": "done"}


def test_a_torn_manifest_line_is_ignored_and_the_summary_merges_shards(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=3)
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights, "--shard", "1/2") == 0
    with open(out / "llve-manifest.1-of-2.jsonl", "a") as f:
        f.write('{"input": "/x/clip9.mp4", "outp')  # a run killed while writing
    assert enhance(*clips, "-o", out, "--weights", tiny_weights, "--shard", "2/2") == 0
    assert "ignored" in capsys.readouterr().err
    assert main(["manifest", str(out)]) == 0
    assert "3 inputs: 3 done, 0 skipped, 0 failed" in capsys.readouterr().out
    assert main(["manifest", str(out), "--jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(json.loads(line)["input"] for line in lines) == sorted(str(c) for c in clips)


def test_ray_engine_without_ray_is_a_one_line_error_naming_the_extra(tmp_path, tiny_weights, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    clips = make_clips(tmp_path / "in", count=2)
    assert enhance(*clips, "-o", tmp_path / "out", "--weights", tiny_weights, "--engine", "ray") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and 'pip install "llve[ray]"' in err


def test_shard_and_ray_options_need_what_they_go_with(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=2)
    assert enhance(*clips, "--weights", tiny_weights, "--shard", "1/2") == 2
    assert "need -o OUTDIR" in capsys.readouterr().err
    assert enhance(*clips, "-o", tmp_path / "o", "--weights", tiny_weights, "--gpus-per-task", "1") == 2
    assert "need --engine ray" in capsys.readouterr().err


@pytest.mark.slow
def test_shard_auto_under_torchrun_covers_every_input_once(tmp_path, tiny_weights):
    clips = make_clips(tmp_path / "in")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "llve",
           "enhance", *map(str, clips), "-o", str(out), "--weights", str(tiny_weights), "--shard", "auto", "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = manifest_lines(out)
    assert Counter(Path(r["input"]).name for r in records) == {c.name: 1 for c in clips}
    assert Counter(r["shard"] for r in records) == {"1/2": 3, "2/2": 3}
    assert {r["status"] for r in records} == {"done"}
    reference = decode(out / "clip0_enhanced.mp4")
    assert len(reference) == 6 and np.mean(reference) > 0
