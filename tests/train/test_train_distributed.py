"""torchrun with two CPU processes (Gloo): DDP keeps the ranks' weights identical and rank 0 alone writes."""
import re
import subprocess
import sys

import pytest
import yaml

from .test_train_loop import tiny_config

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders, servers


@pytest.mark.slow
def test_torchrun_two_cpu_processes_end_with_identical_weights(tmp_path):
    cfg = tiny_config(tmp_path, 4, "ddp", val_every=0, images_every=0)
    cfg["data"]["batch_size"] = 1
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "llve", "train", "-c", str(path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "2 process(es)" in out
    spread = re.search(r"weights on all 2 ranks: max difference (\S+)", out)
    assert spread and float(spread.group(1)) == 0.0, out[-3000:]
    assert out.count("llve: done:") == 1  # only rank 0 reports and writes
    run = tmp_path / "runs" / "ddp"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["iter_00000002.pt", "iter_00000004.pt"]
    assert len(list((run / "tb").glob("events.*"))) == 1
