"""The manifest outlasts bad days: torn, binary and foreign lines, full disks, a rival run, moved components."""
import contextlib
import dataclasses
import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llve.batch.manifest as manifest_module
import llve.run.enhance as enhance_module
from llve.batch.jobs import EnhancerConfig, read_manifests, run_batch
from llve.batch.manifest import ManifestLog, OutputConfig, Record
from llve.cli import main
from tests.batch.helpers import make_clips, manifest_lines


def enhance(*args) -> int:
    return main(["enhance", *map(str, args), "--quiet"])


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("llve: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_torn_last_line_never_swallows_the_next_runs_record(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=4)
    out = tmp_path / "out"
    assert enhance(*clips[:2], "-o", out, "--weights", tiny_weights) == 0
    with open(out / "llve-manifest.jsonl", "a") as f:
        f.write('{"error": null, "finished": "2026-12-07T09:1')  # what a full disk leaves
    assert enhance(*clips[2:], "-o", out, "--weights", tiny_weights) == 0
    capsys.readouterr()
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0  # every input resumes: 4 skipped
    assert {r.status for r in read_manifests(out).values()} == {"skipped"} and len(read_manifests(out)) == 4


def test_undecodable_bytes_and_folders_named_like_a_manifest_are_skipped(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    with open(out / "llve-manifest.jsonl", "ab") as f:
        f.write(b"\xff\xfe\n")
    (out / "llve-manifest.x.jsonl").mkdir()
    capsys.readouterr()
    assert main(["manifest", str(out)]) == 0
    captured = capsys.readouterr()
    assert "2 inputs: 2 done" in captured.out and "not UTF-8" in captured.err and "Traceback" not in captured.err
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0


def test_a_manifest_of_only_bad_lines_is_named_as_such(tmp_path, capsys):
    (tmp_path / "llve-manifest.jsonl").write_text("not json\n")
    assert main(["manifest", str(tmp_path)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "no valid record" in line and "llve-manifest.jsonl" in line


def test_a_manifest_that_cannot_be_written_is_one_line_and_leaves_no_torn_line(tmp_path, tiny_weights, capsys,
                                                                               monkeypatch):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    (out / "llve-manifest.jsonl").mkdir(parents=True)  # cannot be opened for appending
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 2
    assert "cannot write manifest" in one_line(capsys.readouterr().err)
    (out / "llve-manifest.jsonl").rmdir()
    real_fsync, calls = os.fsync, []

    def full_disk(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(manifest_module.os, "fsync", full_disk)
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 2
    assert "No space left on device" in one_line(capsys.readouterr().err)
    text = (out / "llve-manifest.jsonl").read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 1  # the refused line was taken back


def test_a_rival_run_on_the_same_folder_leaves_a_batch_that_resumes(tmp_path, tiny_weights, capsys, monkeypatch):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    real_prefetch, rival = enhance_module.prefetch, []

    def rival_finishes_first(source):
        if not rival:  # while this run writes clip0, another run writes (and records) the same output
            rival.append(source)
            run_batch([clips[0]], out, EnhancerConfig(str(tiny_weights)), progress=False)
        return real_prefetch(source)

    monkeypatch.setattr(enhance_module, "prefetch", rival_finishes_first)
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 2  # the conflict is said
    assert sorted(p.name for p in out.glob("*.mp4")) == ["clip0_enhanced-1.mp4", "clip0_enhanced.mp4",
                                                         "clip1_enhanced.mp4"]
    monkeypatch.setattr(enhance_module, "prefetch", real_prefetch)
    capsys.readouterr()
    assert main(["manifest", str(out)]) == 0
    assert "2 inputs: 2 done, 0 skipped, 0 failed" in capsys.readouterr().out
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0


@pytest.mark.parametrize("change", ["another folder", "a deleted component"])
def test_resume_writes_components_where_they_are_missing(tmp_path, tiny_weights, change):
    clips = make_clips(tmp_path / "in", count=2)
    out, parts = tmp_path / "out", tmp_path / "partsA"
    assert enhance(*clips, "-o", out, "--components", parts, "--weights", tiny_weights) == 0
    if change == "another folder":
        parts = tmp_path / "partsB"
    else:
        (parts / "clip1_enhanced_S.mp4").unlink()
    assert enhance(*clips, "-o", out, "--components", parts, "--weights", tiny_weights) == 0
    assert sorted(p.name for p in parts.iterdir()) == sorted(f"clip{i}_enhanced_{c}.mp4" for i in (0, 1)
                                                             for c in "RS")


def test_components_moved_to_a_folder_holding_someone_elses_file_refuse_it(tmp_path, tiny_weights, capsys):
    clips = make_clips(tmp_path / "in", count=2)
    out = tmp_path / "out"
    assert enhance(*clips, "-o", out, "--weights", tiny_weights) == 0
    (tmp_path / "parts").mkdir()
    theirs = tmp_path / "parts" / "clip0_enhanced_R.mp4"
    theirs.write_bytes(b"someone's file")
    before = theirs.read_bytes()
    assert enhance(*clips, "-o", out, "--components", tmp_path / "parts", "--weights", tiny_weights) == 2
    assert "clip0_enhanced_R.mp4 exists" in capsys.readouterr().err and theirs.read_bytes() == before
    assert {Path(r["input"]).name: r["status"] for r in manifest_lines(out)[-2:]} == {"clip0.mp4": "failed",
                                                                                     "clip1.mp4": "done"}


@settings(max_examples=40, deadline=None)
@given(junk=st.lists(st.binary(max_size=40) | st.text(max_size=40).map(str.encode), max_size=6),
       torn=st.booleans())
def test_any_junk_between_records_is_skipped_and_every_record_still_counts(tmp_path_factory, junk, torn):
    folder = tmp_path_factory.mktemp("m")
    records = [Record(f"/in/v{i}.mp4", f"/out/v{i}_enhanced.mp4", "done", 3, 0.1, None, "w", OutputConfig(), None, "0",
                      "1/1", "h", f"2026-01-01T00:00:0{i}") for i in range(3)]
    lines = [r.to_json().encode() for r in records]
    body = b"\n".join(lines[:1] + [j.replace(b"\n", b" ") for j in junk] + lines[1:]) + b"\n"
    (folder / "llve-manifest.jsonl").write_bytes(body + (b'{"input": "/in/x' if torn else b""))
    with contextlib.closing(ManifestLog(folder / "llve-manifest.jsonl")) as log:  # the next run: on a fresh line
        log.write(dataclasses.replace(records[0], output="/out/w_enhanced.mp4"))
    latest = read_manifests(folder)
    assert sorted(latest) == ["v0_enhanced.mp4", "v1_enhanced.mp4", "v2_enhanced.mp4", "w_enhanced.mp4"]
