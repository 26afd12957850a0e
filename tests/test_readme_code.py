"""The README's code runs as written: its Python blocks in a fresh interpreter, beside a `night.mp4` as they expect."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def test_the_set_up_commands_come_first_and_the_first_result_fits_one_screen():
    first = blocks("bash")[0].splitlines()
    assert first[0].startswith('pip install torch==2.13.0 && pip install -e ".[test]"')
    assert first[1].startswith("python -m pytest -q")
    assert any(line.startswith("pip install torch==2.13.0 && pip install .") for line in blocks("bash")[1].splitlines())
    lines = README.splitlines()
    sample = next(i for i, line in enumerate(lines) if line.startswith("llve enhance examples/dark_tree.mp4"))
    assert sample < 40 and "Python 3.10" in "\n".join(lines[:sample])


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_block_runs_as_written(tmp_path, index):
    shutil.copy(ROOT / "examples" / "dark_tree.mp4", tmp_path / "night.mp4")
    code = blocks("python")[index]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # as `llve` sets it: idle threads sleep on a busy machine
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=env)
    assert done.returncode == 0, f"README python block {index}:\n{code}\n{done.stderr[-3000:]}"
    if "enhance_path(" in code:
        assert (tmp_path / "night_bright.mp4").exists() and "exposure auto" in done.stdout


def test_there_is_python_code_to_run():
    assert blocks("python") and "from llve import Enhancer, StreamOptions, enhance_path" in blocks("python")[0]
