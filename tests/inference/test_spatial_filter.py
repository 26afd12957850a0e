"""The spatial filter on R: noise in flat areas goes, edges stay sharp, clean frames are left alone, S is untouched."""
import numpy as np
import pytest
import torch

from llve.models import Decomposition
from llve.stream.options import StreamOptions
from llve.stream.spatial_filter import SpatialFilter


def decomposition(r: np.ndarray, s: float = 0.6) -> Decomposition:
    r_t = torch.tensor(r, dtype=torch.float32)[None]
    s_t = torch.full_like(r_t, s)
    return Decomposition(r_t * s_t, r_t, s_t)


def step_edge(height: int = 96, width: int = 128) -> np.ndarray:
    """Left half 0.3, right half 0.7, all three channels (3, H, W)."""
    r = np.full((3, height, width), 0.3)
    r[:, :, width // 2:] = 0.7
    return r


def test_blotchy_noise_in_flat_areas_is_removed_and_the_edge_stays_sharp():
    clean = step_edge()
    rng = np.random.default_rng(0)
    blotches = np.kron(rng.normal(0, 0.01, (3, 48, 64)), np.ones((1, 2, 2)))  # 2x2 blotches, as dark video has
    out = SpatialFilter()(decomposition(clean + blotches))
    r = out.r[0].numpy()
    flat = np.s_[:, 8:-8, 8:40]
    assert r[flat].std() < 0.4 * (clean + blotches)[flat].std()
    # three pixels either side of the edge, the step survives (a plain blur of the same window would halve it)
    assert r[:, 8:-8, 67].mean() - r[:, 8:-8, 60].mean() > 0.75 * 0.4
    assert torch.equal(out.s, decomposition(clean).s) and torch.allclose(out.y, out.r * out.s)


def test_a_clean_frame_is_left_as_it_is():
    rng = np.random.default_rng(1)
    coarse = rng.random((3, 6, 8))
    texture = torch.nn.functional.interpolate(torch.tensor(coarse)[None], size=(96, 128), mode="bicubic",
                                              align_corners=False)[0].numpy().clip(0, 1) * 0.6 + 0.2
    out = SpatialFilter()(decomposition(texture))
    error = np.abs(out.r[0].numpy() - texture)
    assert error.mean() < 0.004 and error.max() < 0.025


def test_the_strength_follows_the_noise_remembered_over_frames():
    clean, rng, flt = step_edge(), np.random.default_rng(2), SpatialFilter()
    for _ in range(3):
        flt(decomposition(clean + rng.normal(0, 0.03, clean.shape)))
    remembered = flt.noise.copy()
    flt(decomposition(clean))  # one clean frame barely moves the remembered noise: the strength does not pump
    assert np.all(0.7 * remembered < flt.noise) and np.all(flt.noise < remembered)


def test_the_stream_filters_exposure_networks_by_default_and_keeps_the_papers_protocol_for_the_others():
    from llve.models import build_model
    from llve.run.enhancer import Enhancer
    from tests.conftest import synthetic_frames

    frames = synthetic_frames(3, 48, 64)

    def outputs(model, **options):
        enhancer = Enhancer(model=model, device="cpu", options=StreamOptions(temporal_filter="off", **options))
        return [f.y for f in enhancer.decompose_frames(frames)]

    torch.manual_seed(0)
    exposure_net = build_model("fast", width=16, exposure=True)
    off, auto = outputs(exposure_net, spatial_filter="off"), outputs(exposure_net)
    assert not any(np.array_equal(a, b) for a, b in zip(off, auto))
    torch.manual_seed(0)
    paper_net = build_model("fast", width=16)
    assert all(np.array_equal(a, b) for a, b in zip(outputs(paper_net), outputs(paper_net, spatial_filter="off")))
    assert not all(np.array_equal(a, b) for a, b in zip(outputs(paper_net), outputs(paper_net, spatial_filter="on")))


def test_the_noise_is_read_where_the_frame_is_flat_so_texture_does_not_count_as_noise():
    import cv2

    from llve.evaluate.metrics import haar_noise
    from llve.stream.spatial_filter import flat_noise

    rng = np.random.default_rng(3)
    white = (0.5 + rng.normal(0, 0.01, (256, 384, 3))).astype(np.float32)
    half = lambda y: cv2.resize(y, (y.shape[1] // 2, y.shape[0] // 2), interpolation=cv2.INTER_AREA)  # noqa: E731
    assert np.allclose(flat_noise(half(white)), 0.01, rtol=0.08)
    # the left two thirds carry fine texture, the rest is flat; the same noise everywhere
    textured = white.copy()
    textured[:, :256] += np.kron(rng.normal(0, 0.05, (128, 128, 3)), np.ones((2, 2, 1))).astype(np.float32)
    assert np.all(flat_noise(half(textured)) < 0.012)
    assert np.all(2 * haar_noise(half(textured), level=1) > 0.03)  # a median over the whole frame reads texture


def test_denoise_scales_both_filters_from_none_to_strong_and_1_is_the_default():
    """A static noisy clip through an exposure network: the outputs' frame-to-frame change and fine detail fall as
    ``denoise`` rises; 0 is both filters off, exactly, and 1 is the default, exactly."""
    from llve.core.errors import UserInputError
    from llve.models import build_model
    from llve.run.enhancer import Enhancer

    rng = np.random.default_rng(5)
    scene = (np.kron(rng.random((6, 8, 3)), np.ones((12, 12, 1))) * 40 + 10)
    frames = [np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8) for _ in range(5)]
    torch.manual_seed(0)
    net = build_model("fast", width=16, exposure=True)

    def outputs(**options):
        enhancer = Enhancer(model=net, device="cpu", options=StreamOptions(exposure=0.4, **options))
        return [f.y.astype(float) for f in enhancer.decompose_frames(frames)]

    def roughness(out):  # change between frames plus detail between neighbouring pixels, after the first frame
        return np.mean([np.abs(b - a).mean() + np.abs(np.diff(b, axis=1)).mean() for a, b in zip(out[1:], out[2:])])

    by_strength = {d: outputs(denoise=d) for d in (0.0, 1.0, 2.0)}
    assert all(np.array_equal(a, b) for a, b in zip(by_strength[0.0],
                                                    outputs(temporal_filter="off", spatial_filter="off")))
    assert all(np.array_equal(a, b) for a, b in zip(by_strength[1.0], outputs()))
    rough = [roughness(by_strength[d]) for d in (0.0, 1.0, 2.0)]
    assert rough[0] > rough[1] > rough[2], rough
    for bad in (-0.5, 3.5, float("nan")):
        with pytest.raises(UserInputError, match="denoise"):
            Enhancer(model=net, device="cpu", options=StreamOptions(denoise=bad))


def test_denoise_says_it_is_ignored_where_no_noise_filter_runs(capsys):
    """The paper's networks run no filter under ``auto``: a denoise strength would do nothing, and the user is told
    so, once; with a filter switched on, or the default strength, nothing is said."""
    from llve.models import build_model
    from llve.run.enhancer import Enhancer

    torch.manual_seed(0)
    paper_net = build_model("fast", width=16)
    Enhancer(model=paper_net, device="cpu", options=StreamOptions(denoise=2.0))
    assert capsys.readouterr().err.count("denoise setting is ignored") == 1
    Enhancer(model=paper_net, device="cpu", options=StreamOptions(denoise=2.0, temporal_filter="on"))
    Enhancer(model=paper_net, device="cpu")
    Enhancer(model=build_model("fast", width=16, exposure=True), device="cpu", options=StreamOptions(denoise=2.0))
    assert "ignored" not in capsys.readouterr().err


def test_denoise_with_both_filters_off_says_so_not_that_the_weights_lack_control(capsys):
    from llve.models import build_model
    from llve.run.enhancer import Enhancer

    torch.manual_seed(0)
    Enhancer(model=build_model("fast", width=16, exposure=True), device="cpu",
             options=StreamOptions(denoise=2.0, temporal_filter="off", spatial_filter="off"))
    err = capsys.readouterr().err
    assert "both noise filters are set off" in err and "exposure control" not in err
