"""``llve bench`` on tiny frames: the JSON report has every promised field, self-consistent (no timing asserts)."""
import json
import subprocess
import sys
import time

import pytest

from llve.bench.benchmark import BenchConfig, build_from_spec, count_gflops, parse_size, run_bench
from llve.bench.measure import PeakRSS
from llve.core.errors import UserInputError

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders, servers

ROW_KEYS = {"model", "size", "mode", "fps", "ms_per_frame", "timed_frames", "gflops_per_frame", "achieved_gflops",
            "utilisation", "rss_before_mb", "peak_rss_mb", "peak_cuda_mb", "round", "rounds_fps"}


def test_cli_bench_json_schema(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "llve", "bench", "--size", "48x32", "--frames", "2", "--warmup", "0",
                        "--tile", "64", "--no-video", "--json", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert {"torch", "device", "threads", "omp_wait_policy", "backend", "runtime", "matmul_gflops", "models", "results",
            "speedups", "settings"} <= set(report)
    assert report["threads"] >= 1 and report["matmul_gflops"] > 0
    assert set(report["models"]) == {"official", "fast"}
    assert report["models"]["official"]["params"] == 1_810_678
    modes = {(row["model"], row["mode"]) for row in report["results"]}
    assert modes == {(m, mode) for m in ("official", "fast") for mode in ("pair", "stream", "stream-tiled")}
    for row in report["results"]:
        assert set(row) == ROW_KEYS and row["size"] == "48x32" and row["timed_frames"] == 2
        assert row["fps"] > 0 and row["peak_rss_mb"] >= row["rss_before_mb"] > 0
        assert row["utilisation"] == pytest.approx(row["gflops_per_frame"] * row["fps"] / report["matmul_gflops"])
    assert {s["what"] for s in report["speedups"]} >= {"fast stream / official stream frames/s"}
    assert "fast" in r.stdout and "stream" in r.stdout


def test_video_mode_and_mode_filter(tmp_path):
    """The end-to-end mode runs ``llve enhance`` on a synthetic clip; --mode keeps only what is asked for."""
    report = run_bench(BenchConfig(sizes=((32, 48),), models=("fast",), frames=2, warmup=0, budget_s=0,
                                     modes=("stream", "video")), log=lambda _: None)
    assert [(r["mode"], r["timed_frames"]) for r in report["results"]] == [("stream", 2), ("video", 2)]
    assert report["results"][1]["fps"] > 0
    with pytest.raises(UserInputError, match="unknown mode"):
        run_bench(BenchConfig(modes=("sprint",)), log=lambda _: None)


def test_rounds_alternate_the_models_order_and_report_each_figures_median_round():
    """Speed drifts on a shared machine: with rounds, the models take turns (A B, B A, A B) and each reported row
    is the round with the median frames/s, so one model is not always measured in the other's slow moment; a ratio
    is the median of the rounds' ratios, each from two measurements made one after the other."""
    report = run_bench(BenchConfig(sizes=((32, 48),), models=("official", "fast"), frames=2, warmup=0,
                                     budget_s=0, video=False, modes=("stream",), rounds=3), log=lambda _: None)
    assert [r["model"] for r in report["rounds"]] == ["official", "fast", "fast", "official", "official", "fast"]
    assert [r["round"] for r in report["rounds"]] == [0, 0, 1, 1, 2, 2]
    assert [(r["model"], r["mode"]) for r in report["results"]] == [("official", "stream"), ("fast", "stream")]
    for row in report["results"]:
        assert len(row["rounds_fps"]) == 3 and row["fps"] == sorted(row["rounds_fps"])[1]
    fps = {(r["model"], r["round"]): r["fps"] for r in report["rounds"]}
    per_round = [fps[("fast", k)] / fps[("official", k)] for k in range(3)]  # each round's two, side by side
    line = next(s for s in report["speedups"] if s["what"] == "fast stream / official stream frames/s")
    assert line["rounds_ratio"] == per_round and line["ratio"] == sorted(per_round)[1]
    assert report["settings"]["rounds"] == 3
    with pytest.raises(UserInputError, match="rounds"):
        run_bench(BenchConfig(rounds=0), log=lambda _: None)


def test_model_specs_change_config_fields():
    """``fast:refine=0`` benchmarks a variant next to the defaults; each variant gets its ratio to official."""
    assert build_from_spec("fast").cfg.refine > 0
    assert build_from_spec("fast:refine=0,width=32").cfg.refine == 0
    assert build_from_spec("fast: refine = 0").cfg.refine == 0
    assert build_from_spec("official:width=8").cfg.width == 8
    for bad, match in (("fast:refine", "bad model"), ("fast:depth=3", "bad config"), ("fastest", "unknown model")):
        with pytest.raises(UserInputError, match=match):
            build_from_spec(bad)
    report = run_bench(BenchConfig(sizes=((32, 48),), models=("official", "fast", "fast:refine=0"), frames=2,
                                     warmup=0, budget_s=0, video=False, modes=("stream",)), log=lambda _: None)
    assert report["models"]["fast:refine=0"]["config"]["refine"] == 0
    assert report["models"]["fast:refine=0"]["params"] < report["models"]["fast"]["params"]
    assert {s["what"] for s in report["speedups"]} == {"fast stream / official stream frames/s",
                                                      "fast:refine=0 stream / official stream frames/s"}


def test_streamed_frame_costs_less_than_a_pair():
    for arch in ("official", "fast"):
        g = count_gflops(arch, 64, 96)
        assert 0 < g["stream"] < g["pair"]


def test_bad_arguments_are_user_errors():
    with pytest.raises(UserInputError, match="bad size"):
        parse_size("960by512")
    assert parse_size("960x512") == (512, 960)
    with pytest.raises(UserInputError, match="unknown model"):
        run_bench(BenchConfig(models=("nope",)), log=lambda _: None)
    r = subprocess.run([sys.executable, "-m", "llve", "bench", "--size", "0x10"], capture_output=True, text=True)
    assert r.returncode == 2 and "must be positive" in r.stderr


def test_peak_rss_sees_an_allocation():
    import numpy as np

    with PeakRSS() as rss:
        start = rss.peak_bytes
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        time.sleep(0.1)  # several sampling intervals, even on a loaded machine
        del block
    assert rss.peak_bytes - start > 32 * 2**20


def test_a_weights_file_or_default_is_measured_with_its_weights(tmp_path):
    """An exposure network decodes a stream's first frame again until it lands on its target (once with trained
    weights, three times with random ones), so `default` and weights files are measured with their weights; the
    first model listed is the ratios' reference when official is not measured."""
    import torch

    from llve.models.weights import load_model, save_model
    from llve.run.enhancer import DEFAULT_WEIGHTS

    def same(a, b):
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    assert same(build_from_spec("default").state_dict(), load_model(DEFAULT_WEIGHTS).state_dict())
    assert not same(build_from_spec("fast:exposure=true").state_dict(), load_model(DEFAULT_WEIGHTS).state_dict())
    mine = tmp_path / "mine.safetensors"
    save_model(build_from_spec("fast:refine=0,width=32"), mine)
    assert build_from_spec(str(mine)).cfg.refine == 0
    assert same(build_from_spec(str(mine)).state_dict(), load_model(mine).state_dict())
    assert count_gflops("default", 64, 96) == count_gflops("fast:exposure=true", 64, 96)  # the bundled config
    assert count_gflops(str(mine), 64, 96) == count_gflops("fast:refine=0,width=32", 64, 96)
    report = run_bench(BenchConfig(sizes=((32, 48),), models=(str(mine), "default"), frames=2, warmup=0,
                                     budget_s=0, video=False, modes=("stream",)), log=lambda _: None)
    assert {s["what"] for s in report["speedups"]} == {f"default stream / {mine} stream frames/s"}
    assert report["models"]["default"]["config"]["exposure"] is True
    with pytest.raises(UserInputError, match="not found"):
        build_from_spec(str(tmp_path / "missing.safetensors"))
