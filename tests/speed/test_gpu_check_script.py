"""The prepared GPU run (scripts/gpu_check.sh) works end to end: dry-run on the CPU at a small size."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_script_writes_its_benchmarks_and_stage_table_on_a_dry_run(tmp_path):
    env = {**os.environ, "DEVICE": "cpu", "SIZES": "64x48", "PRECISIONS": "fp32", "FRAMES": "2", "ROUNDS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), str(tmp_path / "out")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["bench_fp32.json", "bench_fp32.txt", "machine.txt",
                                                     "sample_psnr.txt", "stages_fp32.json", "stages_fp32.txt"]
    bench = json.loads((out / "bench_fp32.json").read_text())
    assert "default" in json.dumps(bench) and "default_v1" in json.dumps(bench)
    assert "network decoders" in (out / "stages_fp32.txt").read_text()
