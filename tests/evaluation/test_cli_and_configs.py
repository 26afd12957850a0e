"""``llve test`` end to end through the CLI, the shipped configs, and the baselines registry."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import texture
from llve.core.config import from_dict, load_yaml
from llve.core.errors import UserInputError
from llve.evaluate.baselines import BASELINES
from llve.evaluate.config import EvalConfig, upgrade_layout
from llve.stream.options import StreamOptions

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders, servers

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("test_*.yaml"))


def _llve(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "llve", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_parse(path):
    cfg = from_dict(EvalConfig, load_yaml(path))  # the current layout: no upgrade needed
    if cfg.data.kind in ("sdsd", "smid"):  # the official protocol
        assert cfg.data.frames == 30 and cfg.data.size == (960, 512) and cfg.stream.pairing == "next"
        assert all(isinstance(n, str) for n in cfg.data.sequences)


def test_a_config_of_the_older_layout_reads_as_the_current_one():
    older = {"method": "stcd", "exposure": "gt", "fp16": True, "denoise": 2, "temporal_filter": "on",
             "data": {"kind": "sdsd", "root": "d", "pairing": "self"}}
    current = {"method": "stcd", "gt_exposure": True, "data": {"kind": "sdsd", "root": "d"},
               "stream": {"precision": "fp16", "denoise": 2.0, "temporal_filter": "on", "pairing": "self"}}
    assert from_dict(EvalConfig, upgrade_layout(older)) == from_dict(EvalConfig, current)
    assert upgrade_layout(current) == current
    assert from_dict(EvalConfig, upgrade_layout({"exposure": 0.4, "data": {"kind": "none", "root": "x"}})).stream \
        == StreamOptions(exposure=0.4)
    with pytest.raises(UserInputError, match="exposure"):
        from_dict(EvalConfig, upgrade_layout({"exposure": "bright", "data": {"kind": "none", "root": "x"}}))


def test_standard_test_lists():
    lists = {p.stem: from_dict(EvalConfig, load_yaml(p)).data.sequences for p in CONFIGS}
    assert len(lists["test_sdsd_indoor"]) == 12 and "pair13" in lists["test_sdsd_indoor"]
    assert len(lists["test_sdsd_outdoor"]) == 13 and "pair76" in lists["test_sdsd_outdoor"]
    assert len(set(lists["test_smid"])) == 49 and lists["test_smid"][0] == "0013"


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_map_frames_to_frames(name):
    dark = texture(24, 32, 0).astype(np.float32) / 255 * 0.1  # mean ~0.01: a dark frame
    out = BASELINES[name](dark)
    assert out.shape == dark.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    if name == "identity":
        assert out is dark
    else:  # both brighten a dark frame
        assert out.mean() > 2 * dark.mean()


def test_gamma_reaches_its_target_brightness_and_never_darkens():
    dark = np.full((4, 4, 3), 0.05, np.float32)
    assert BASELINES["gamma"](dark).mean() == pytest.approx(0.4, abs=1e-4)
    bright = np.full((4, 4, 3), 0.8, np.float32)
    assert BASELINES["gamma"](bright) == pytest.approx(bright)


def test_cli_writes_three_files(sdsd_tree, tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(yaml.safe_dump({"method": "gamma", "data": {"kind": "sdsd", "root": str(sdsd_tree),
                                                                 "frames": 3, "size": [24, 16]}}))
    out = tmp_path / "res"
    r = _llve("test", "-c", str(cfg), "--method", "clahe", "--out", str(out), "--save-images")
    assert r.returncode == 0, r.stderr
    assert "warning: sequence pairC has 2 frames" in r.stderr and "psnr_mean_of_sequences" in r.stdout
    data = json.loads((out / "metrics.json").read_text())
    assert data["method"] == "clahe" and data["summary"]["frames"] == 8 and data["device"].startswith("cpu")
    assert (out / "metrics.csv").is_file() and (out / "report.html").is_file()
    assert sorted(p.name for p in (out / "images" / "pairB").iterdir()) == ["00000.png", "00001.png", "00002.png"]


def test_cli_bad_input_is_one_line_exit_2(tmp_path, sdsd_tree):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"kind": "sdsd", "root": str(sdsd_tree), "frame": 3}}))
    r = _llve("test", "-c", str(cfg), "--method", "identity", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "unknown config key 'data.frame'" in r.stderr and "Traceback" not in r.stderr
    cfg.write_text(yaml.safe_dump({"data": {"kind": "sdsd", "root": str(sdsd_tree)}}))
    r = _llve("test", "-c", str(cfg), "--out", str(tmp_path / "o"), "--weights", str(tmp_path / "missing.pth"))
    assert r.returncode == 2 and "weights file not found" in r.stderr
    r = _llve("test", "-c", str(cfg), "--method", "identity", "--root", str(tmp_path / "nowhere"),
              "--out", str(tmp_path / "o2"))
    assert r.returncode == 2 and "not found" in r.stderr and not (tmp_path / "o2").exists()


def test_cli_stcd_with_weights_file(sdsd_tree, tmp_path):
    import torch

    from llve.models.stcd import STCD, STCDConfig
    from llve.models.weights import save_model
    torch.manual_seed(0)
    save_model(STCD(STCDConfig(width=8, heads=2)), tmp_path / "w.safetensors")
    cfg = tmp_path / "t.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"kind": "sdsd", "root": str(sdsd_tree), "sequences": ["pairA"],
                                            "frames": 2, "size": [20, 12]}, "panels": 1}))
    r = _llve("test", "-c", str(cfg), "--weights", str(tmp_path / "w.safetensors"), "--out", str(tmp_path / "r"),
              "--quiet")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert data["method"] == "stcd" and data["weights"].endswith("w.safetensors")
    assert len(data["frames"]) == 2 and all(0 < f["psnr"] < 60 for f in data["frames"])
    assert data["summary"]["runtime_per_frame_s"] > 0
    page = (tmp_path / "r" / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5 + 2  # panel with R and S, plus plots
