"""The bundled default weights: present in the package, loaded without flags, and they brighten dark footage."""
import numpy as np

from llve.cli import main
from llve.models import arch_name
from llve.run.enhancer import DEFAULT_WEIGHTS, Enhancer
from tests.conftest import synthetic_frames, write_clip


def test_bundled_weights_are_small_guided_safetensors_that_equal_the_fast_network_below_408_pixels():
    import dataclasses

    import torch

    from llve.models import build_model
    from llve.models.weights import load_model

    assert DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.stat().st_size < 10 * 2**20
    assert arch_name(Enhancer(device="cpu").model) == "guided"
    guided = load_model(DEFAULT_WEIGHTS).eval()
    assert guided.cfg.low_side == 272 and guided.cfg.detail > 0
    assert guided.low_size(400, 600) == (400, 600) and guided.low_size(480, 854) != (480, 854)
    fast = build_model("fast", **{f.name: getattr(guided.cfg, f.name)
                                  for f in dataclasses.fields(build_model("fast").cfg)}).eval()
    fast.load_state_dict(guided.state_dict())
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        a = guided.decompose_first(guided.encode(x), guided.encode(x))
        b = fast.decompose_first(fast.encode(x), fast.encode(x))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_no_flag_enhance_brightens_a_dark_clip(tmp_path):
    dark = [np.clip(f.astype(int) // 3, 0, 255).astype(np.uint8) for f in synthetic_frames(3, 48, 64)]
    src = write_clip(tmp_path / "night.mp4", dark)
    assert main(["enhance", str(src), "--quiet"]) == 0
    out = list(Enhancer(device="cpu").enhance_frames(dark))
    assert np.mean(out) > 2 * np.mean(dark)
    assert (tmp_path / "night_enhanced.mp4").is_file()


def test_a_monochrome_frame_comes_out_monochrome_and_a_colour_frame_keeps_its_colour(monkeypatch):
    """Night CCTV records infrared in grey; the network, trained on colour, painted faint colour into it (channel
    spread 5.4 levels on average, up to 17, on a grey 640x360 clip). A frame without colour (channels within one
    level: a grey frame after a codec's rounding) now comes out grey; a colour frame of the same stream keeps its
    colour."""
    import llve.stream.stages

    rng = np.random.default_rng(0)
    colour = [np.clip(f.astype(int) // 4, 0, 255).astype(np.uint8) for f in synthetic_frames(4, 48, 64)]
    grey = [np.repeat(np.clip(f.mean(2, keepdims=True) + rng.normal(0, 2, (48, 64, 1)), 0, 255), 3, 2).astype(np.uint8)
            for f in colour]
    grey[3][::2, ::3, 0] += 1  # a codec's rounding: still no colour
    stream = [grey[0], grey[1], colour[2], grey[3]]

    def spreads(frames):
        return [int((f.max(2).astype(int) - f.min(2)).max()) for f in frames]

    assert spreads(stream) == [0, 0, spreads(colour)[2], 1] and spreads(colour)[2] > 3
    out = list(Enhancer(device="cpu").enhance_frames(stream))
    assert spreads(out)[:2] == [0, 0] and spreads(out)[3] == 0 and spreads(out)[2] > 3
    assert np.mean(out[0]) > 2 * np.mean(grey[0])
    monkeypatch.setattr(llve.stream.stages, "GREY_TOLERANCE", -1)  # nothing counts as grey: the network's own colour
    assert min(spreads(Enhancer(device="cpu").enhance_frames(stream))) > 0


def test_black_frames_stay_black():
    """A black leader or fade-out came out as a flat grey frame of 92/255 (``auto``'s floor); it stays black."""
    black = [np.zeros((48, 64, 3), np.uint8)] * 3
    assert max(frame.mean() for frame in Enhancer(device="cpu").enhance_frames(black)) < 8
