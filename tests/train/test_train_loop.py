"""Training runs end to end on tiny synthetic data: bit-for-bit resume, checkpoints, configs, official options."""
import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from llve.core.config import from_dict
from llve.core.errors import UserInputError
from llve.models import ARCHITECTURES, arch_name
from llve.models.weights import load_model
from llve.train.config import TrainConfig, load_config, translate_official
from llve.train.loop import latest_checkpoint, train
from llve.train.schedule import ScheduleConfig, learning_rate

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = {"width": 8, "half_width": 4, "quarter_width": 8, "heads": 2}  # smallest sensible size per config field


def make_images(root: Path, n=6, h=40, w=56):
    for side in ("low", "high"):
        (root / side).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        gt = cv2.resize(rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8), (w, h))
        cv2.imwrite(str(root / "high" / f"{k}.png"), gt)
        cv2.imwrite(str(root / "low" / f"{k}.png"), gt // 6)
    return root


def tiny_config(tmp_path: Path, iterations: int, name="run", **log) -> dict:
    return {
        "name": name, "out_dir": str(tmp_path / "runs"),
        "model": {"arch": "official", "config": {"width": 8, "heads": 2}},
        "data": {"train": [{"kind": "images", "root": str(make_images(tmp_path / "imgs")), "test": ["5"]}],
                 "sampling": {"crop": [24, 24], "transpose": True}, "batch_size": 2, "workers": 0},
        "train": {"iterations": iterations, "device": "cpu", "threads": 1,
                  "optim": {"lr": 1e-3, "periods": [3, 4], "restarts": [3], "restart_weights": [0.5], "warmup": 1}},
        "log": {"print_every": 0, "scalars_every": 1, "images_every": 2, "val_every": 2, "checkpoint_every": 2,
                "keep_last": 2, **log},
    }


def test_resume_continues_bit_for_bit(tmp_path):
    # 2N = 6 steps straight vs 4 + resume + 2; with 5 training pairs and batch 2 an epoch is 2 steps,
    # so the resume lands at an epoch boundary and crosses the schedule's restart.
    straight = train(from_dict(TrainConfig, tiny_config(tmp_path, 6, "straight")), log=lambda m: None)
    first = train(from_dict(TrainConfig, tiny_config(tmp_path, 3, "split")), log=lambda m: None)
    assert first.iteration == 3  # ends mid-epoch: the resumed run must skip exactly one batch
    resumed = train(from_dict(TrainConfig, tiny_config(tmp_path, 6, "split")), resume=first.run_dir,
                    log=lambda m: None)
    assert resumed.steps == 3 and resumed.iteration == 6
    a = torch.load(latest_checkpoint(straight.run_dir), weights_only=True)
    b = torch.load(latest_checkpoint(resumed.run_dir), weights_only=True)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["scheduler"]["_last_lr"] == b["scheduler"]["_last_lr"]
    # ... and training did change the weights (the comparison is not vacuous).
    start = train(from_dict(TrainConfig, tiny_config(tmp_path, 1, "one")), log=lambda m: None)
    c = torch.load(latest_checkpoint(start.run_dir), weights_only=True)
    assert not torch.equal(c["model"]["conv_first_1.weight"], a["model"]["conv_first_1.weight"])


def test_run_folder_checkpoints_and_weights(tmp_path):
    summary = train(from_dict(TrainConfig, tiny_config(tmp_path, 6)), log=lambda m: None)
    run = summary.run_dir
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["iter_00000004.pt", "iter_00000006.pt"]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert from_dict(TrainConfig, saved) == from_dict(TrainConfig, tiny_config(tmp_path, 6))
    ckpt = torch.load(run / "checkpoints" / "iter_00000006.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "rng", "iteration", "arch", "model_config"} <= set(ckpt)
    assert ckpt["iteration"] == 6 and ckpt["arch"] == "official" and ckpt["model_config"]["width"] == 8
    from_ckpt, from_st = load_model(run / "checkpoints" / "iter_00000006.pt"), load_model(run / "model.safetensors")
    for (k, v), w in zip(from_ckpt.state_dict().items(), from_st.state_dict().values()):
        assert torch.equal(v, w), k
    assert list((run / "tb").glob("events.*"))
    assert summary.val_psnr is not None and math.isfinite(summary.val_psnr)
    assert not list(run.rglob(".*tmp*"))  # no leftovers of atomic writes


def test_schedule_warmup_cosine_and_restart():
    cfg = ScheduleConfig(lr=1.0, periods=(10, 20), restarts=(10,), restart_weights=(0.5,), eta_min=0.0, warmup=2)
    assert learning_rate(cfg, 0) == pytest.approx(learning_rate(cfg, 2) * 0.5)
    assert learning_rate(cfg, 5) == pytest.approx(0.5)  # half way down the first cosine
    assert learning_rate(cfg, 10) == pytest.approx(0.5)  # restart at weight 0.5
    assert learning_rate(cfg, 20) == pytest.approx(0.25)
    assert learning_rate(cfg, 30) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="periods needs 2"):
        ScheduleConfig(periods=(10,), restarts=(10,), restart_weights=(1.0,))


def test_config_errors_name_the_key(tmp_path):
    bad = tiny_config(tmp_path, 2)
    bad["train"]["optim"]["lrr"] = 1
    with pytest.raises(UserInputError, match="train.optim.lrr"):
        from_dict(TrainConfig, bad)
    bad = tiny_config(tmp_path, 2)
    bad["data"]["batch_size"] = "four"
    with pytest.raises(UserInputError, match="data.batch_size"):
        from_dict(TrainConfig, bad)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "data": {"train": []}, "train": {"iterations": 1, "epochs": 2}}))
    result = subprocess.run([sys.executable, "-m", "llve", "train", "-c", str(path)], capture_output=True, text=True)
    assert result.returncode == 2 and "train.epochs" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("where, key, value", [
    ("optim", "lr", math.nan), ("optim", "lr", math.inf), ("optim", "eta_min", math.nan),
    ("optim", "betas", [0.9, 1.5]), ("sampling", "crop", [0, 0]), ("sampling", "size", [16, 0])])
def test_impossible_numbers_are_refused_with_their_section(tmp_path, where, key, value):
    bad = tiny_config(tmp_path, 2)
    section = bad["train"]["optim"] if where == "optim" else bad["data"]["sampling"]
    section[key] = value
    if where == "sampling":
        section["transpose"] = False
    with pytest.raises(UserInputError, match=f"{'train.optim' if where == 'optim' else 'data.sampling'}: .*{key}"):
        from_dict(TrainConfig, bad)


OFFICIAL = """
name: SDSD_indoor_model2
use_tb_logger: true
model: video_base4_m2
gpu_ids: [0]
datasets:
  train:
    name: indoor
    mode: video_samesize_SDSD_train
    dataroot_GT: {root}/GT
    dataroot_LQ: {root}/input
    train_size: [960, 512]
    testing_dir: pair13,pair15
    N_frames: 5
    n_workers: 16
    batch_size: 4
    GT_size: 256
    use_flip: true
  val:
    name: REDS4
network_G:
  which_model_G: low_light_transformer42
  nf: 64
  front_RBs: 1
path:
  root: ./
  strict_load: false
train:
  lr_G: !!float 1e-4
  lr_scheme: CosineAnnealingLR_Restart
  beta1: 0.9
  beta2: 0.99
  niter: 200000
  warmup_iter: -1
  T_period: [200000]
  restarts: [200000]
  restart_weights: [1]
  eta_min: !!float 1e-7
  pixel_criterion: cb
  pixel_weight: 1.0
  val_freq: !!float 500
logger:
  print_freq: 100
  save_checkpoint_freq: !!float 500
"""


def test_official_option_file_is_translated_and_ignored_keys_listed(tmp_path):
    path = tmp_path / "SDSD_indoor.yml"
    path.write_text(OFFICIAL.format(root="/data/indoor_np"))
    messages = []
    cfg = load_config(path, notify=messages.append)
    src = cfg.data.train[0]
    assert (src.kind, src.root, src.test) == ("sdsd", "/data/indoor_np", ("pair13", "pair15"))
    assert cfg.data.sampling.size == (960, 512) and not cfg.data.sampling.hflip and cfg.data.batch_size == 4
    assert cfg.model.config == {"width": 64} and cfg.train.iterations == 200000
    o = cfg.train.optim
    assert (o.lr, o.betas, o.periods, o.restarts, o.eta_min, o.warmup) == (1e-4, (0.9, 0.99), (200000,), (), 1e-7, 0)
    assert cfg.train.loss.reduction == "sum" and cfg.log.val_every == 500 and cfg.log.checkpoint_every == 500
    ignored = messages[0]
    for key in ("use_tb_logger", "gpu_ids", "datasets.train.N_frames", "datasets.train.GT_size",
                "network_G.front_RBs", "path.strict_load", "datasets.val"):
        assert key in ignored, key
    assert "lr_G" not in ignored and "dataroot_LQ" not in ignored
    heavier, _ = translate_official(yaml.safe_load(OFFICIAL.format(root="/d").replace("pixel_weight: 1.0",
                                                                                      "pixel_weight: 2.0")))
    assert heavier["train"]["loss"] == {"pixel": 2.0, "smooth": 0.2, "reduction": "sum"}  # as upstream
    bad = OFFICIAL.format(root="/d").replace("pixel_criterion: cb", "pixel_criterion: l1")
    with pytest.raises(UserInputError, match="pixel_criterion 'l1'"):
        translate_official(yaml.safe_load(bad))


@pytest.mark.parametrize("path", sorted(p for p in CONFIGS.glob("*.yaml") if not p.name.startswith("test_")),
                         ids=lambda p: p.name)  # configs/test_*.yaml are evaluation configs (llve test)
def test_every_shipped_config_parses(path):
    cfg = load_config(path, notify=lambda m: None)
    assert cfg.train.iterations > 0 and cfg.data.train


def test_shipped_configs_carry_the_standard_test_lists():
    assert {p.name for p in CONFIGS.glob("*.yaml")} >= {"sdsd_indoor.yaml", "sdsd_outdoor.yaml", "smid.yaml",
                                                        "tiny.yaml"}
    indoor = load_config(CONFIGS / "sdsd_indoor.yaml").data.train[0].test
    outdoor = load_config(CONFIGS / "sdsd_outdoor.yaml").data.train[0].test
    smid = load_config(CONFIGS / "smid.yaml").data.train[0].test
    assert len(indoor) == 12 and indoor[0] == "pair13" and indoor[-1] == "pair70"
    assert len(outdoor) == 13 and outdoor[0] == "pair1" and outdoor[-1] == "pair76"
    assert len(smid) == 49 and len(set(smid)) == 49 and smid[0] == "0013" and smid[-1] == "0191"


def test_a_crop_larger_than_the_frames_is_a_clean_error_before_training(tmp_path):
    cfg = tiny_config(tmp_path, 2)
    cfg["data"]["sampling"]["crop"] = [200, 200]
    cfg["data"]["workers"] = 1
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = subprocess.run([sys.executable, "-m", "llve", "train", "-c", str(path)], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "crop 200x200 is larger than the image" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_registered_architecture_trains_and_its_checkpoint_loads(tmp_path, arch):
    fields = {f.name for f in dataclasses.fields(ARCHITECTURES[arch][1])}
    cfg = tiny_config(tmp_path, 2, arch, val_every=0, images_every=0, scalars_every=0)
    cfg["model"] = {"arch": arch, "config": {k: v for k, v in TINY.items() if k in fields}}
    summary = train(from_dict(TrainConfig, cfg), log=lambda m: None)
    assert math.isfinite(summary.last_loss)
    model = load_model(latest_checkpoint(summary.run_dir))
    assert arch_name(model) == arch
