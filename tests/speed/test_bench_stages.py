"""``llve bench --stages``: every stage of the video path reported, from the threads that run it (no timing asserts)."""
import subprocess
import sys
import threading

import pytest

from llve.bench.benchmark import BenchConfig, run_bench
from llve.bench.video import STAGES
from llve.core.errors import UserInputError
from llve.core.stageclock import WAITS, StageClock, stage

# What runs on every frame of the bundled weights' video path (the calibration only where the first frame misses).
EVERY_FRAME = {"yuv to rgb", "input traits", "to tensor", "network encoder", "network decoders", "roll-off",
               "temporal filter", "spatial filter", "to uint8", "rgb to yuv"}


def test_stages_report_every_stage_of_the_video_path():
    frames = 3
    report = run_bench(BenchConfig(sizes=((48, 64),), models=("default",), frames=frames, warmup=0, budget_s=0,
                                   modes=("video",), stages=True), log=lambda _: None)
    (table,) = report["stages"]
    assert (table["model"], table["size"], table["frames"]) == ("default", "64x48", frames)
    assert [(c["name"], c["thread"]) for c in table["stages"]] == list(STAGES)
    for cost in table["stages"]:
        assert cost["ms_per_frame"] >= 0 and cost["calls"] >= 0 and cost["wait"] == (cost["name"] in WAITS)
        if cost["name"] in EVERY_FRAME:  # a hook that went missing reads 0 calls here
            assert cost["calls"] == frames and cost["ms_per_frame"] > 0, cost
    calls = {c["name"]: c["calls"] for c in table["stages"]}
    assert calls["decode"] == frames + 1  # the last call finds the end of the clip
    assert calls["video encode"] == frames + 1  # and the encoder's flush
    work = sum(c["ms_per_frame"] for c in table["stages"] if not c["wait"])
    assert table["work_ms"] == pytest.approx(work)
    assert table["overlap_ms"] == pytest.approx(table["work_ms"] - table["wall_ms"])
    assert table["wall_ms"] > 0 and table["cpu_ms"] > 0 and table["cores"] >= 1
    (row,) = report["results"]
    assert row["mode"] == "video" and row["timed_frames"] == frames
    assert row["ms_per_frame"] == pytest.approx(table["wall_ms"])  # one measurement, both figures


def test_the_clock_records_only_while_it_runs_and_from_every_thread():
    clock = StageClock()
    with stage("before"):
        pass
    with clock.running():
        with stage("here"):
            pass
        def work() -> None:
            with stage("there"):
                pass

        helper = threading.Thread(target=work, name="helper")
        helper.start()
        helper.join()
        with pytest.raises(RuntimeError, match="already running"), StageClock().running():
            pass
    with stage("after"):
        pass
    assert set(clock.totals) == {"here", "there"}
    assert clock.totals["there"].threads == {"helper"} and clock.totals["here"].calls == 1


def test_stages_without_the_video_mode_are_a_one_line_error():
    with pytest.raises(UserInputError, match="video mode"):
        run_bench(BenchConfig(models=("fast",), modes=("stream",), stages=True), log=lambda _: None)
    r = subprocess.run([sys.executable, "-m", "llve", "bench", "--no-video", "--stages"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--stages" in r.stderr
