"""The bundled default weights: present in the package, loaded without flags, and they brighten dark footage."""
import numpy as np

from llve.cli import main
from llve.inference import DEFAULT_WEIGHTS, Enhancer
from llve.models import arch_name
from tests.conftest import synthetic_frames, write_clip


def test_bundled_weights_are_small_fast_safetensors():
    assert DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.stat().st_size < 10 * 2**20
    assert arch_name(Enhancer(device="cpu").model) == "fast"


def test_no_flag_enhance_brightens_a_dark_clip(tmp_path):
    dark = [np.clip(f.astype(int) // 3, 0, 255).astype(np.uint8) for f in synthetic_frames(3, 48, 64)]
    src = write_clip(tmp_path / "night.mp4", dark)
    assert main(["enhance", str(src), "--quiet"]) == 0
    out = list(Enhancer(device="cpu").enhance_frames(dark))
    assert np.mean(out) > 2 * np.mean(dark)
    assert (tmp_path / "night_enhanced.mp4").is_file()
