"""Tiled decomposition: windows cover the frame, seams blend to the exact result for a local model."""
import pytest
import torch

from llve.bench.measure import tiling_psnr
from llve.core.errors import UserInputError
from llve.models import Decomposition
from llve.stream.options import StreamOptions
from llve.stream.pipeline import decompose_pair as decompose_tiled
from llve.stream.tiling import ramp, tile_starts
from tests.conftest import tiny_model as tiny


class LocalNet(torch.nn.Module):
    """A stand-in whose output at a pixel depends only on that pixel: tiling must reproduce it exactly."""

    size_multiple = 8

    def encode(self, x):
        return (x,)

    def decompose_first(self, f1, f2):
        r, s = torch.sigmoid(3 * f1[0] - f2[0]), 0.5 + 0.5 * f2[0]
        return Decomposition(r * s, r, s)


@pytest.mark.parametrize("length,tile,overlap", [(100, 64, 8), (64, 64, 8), (129, 64, 16), (300, 96, 0)])
def test_tile_starts_cover_with_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = torch.zeros(length, dtype=torch.bool)
    for a, b in zip(starts, starts[1:]):
        assert a + tile - b >= overlap  # consecutive windows share at least the overlap
    for a in starts:
        covered[a:a + tile] = True
    assert covered.all() and starts[-1] + min(tile, length) == length


def test_ramp_is_positive_and_one_inside():
    w = ramp(200, 50, 64, 8, "cpu", torch.float32)
    assert (w > 0).all() and w[8:-8].eq(1).all() and w[0] < w[7]
    edge = ramp(200, 0, 64, 8, "cpu", torch.float32)
    assert edge[:56].eq(1).all() and edge[-1] < 1  # image borders are not faded


def test_local_model_tiled_equals_untiled_on_odd_size():
    x1, x2 = torch.rand(1, 3, 157, 203), torch.rand(1, 3, 157, 203)
    net = LocalNet()
    whole = net.decompose_first(net.encode(x1), net.encode(x2))
    tiled = decompose_tiled(net, x1, x2, tile=64, overlap=12)
    for a, b in zip(tiled, whole):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)


def test_real_network_tiles_and_small_frame_is_untiled():
    model = tiny("fast").eval()
    x1, x2 = torch.rand(1, 3, 70, 150), torch.rand(1, 3, 70, 150)
    with torch.no_grad():
        tiled = decompose_tiled(model, x1, x2, tile=64)
        assert tiled.y.shape == x1.shape and torch.isfinite(tiled.y).all()
        assert torch.allclose(tiled.y, tiled.r * tiled.s)
        small = decompose_tiled(model, x1[..., :64, :64], x2[..., :64, :64], tile=64)
        direct = model.decompose_first(model.encode(x1[..., :64, :64]), model.encode(x2[..., :64, :64]))
    assert torch.allclose(small.y, direct.y, atol=1e-6)


def test_bad_tiles_are_user_errors():
    x = torch.rand(1, 3, 100, 100)
    with pytest.raises(UserInputError, match="too small"):
        decompose_tiled(LocalNet(), x, x, tile=16)
    with pytest.raises(UserInputError, match="overlap"):
        decompose_tiled(LocalNet(), x, x, tile=64, overlap=40)
    with pytest.raises(UserInputError, match="differ in size"):
        decompose_tiled(LocalNet(), x, x[..., :90], tile=64)


def test_enhancer_tiles_with_the_same_pairing():
    """``StreamOptions(tile=...)`` gives frame t the tiled decomposition with frame t+1 (the last: with itself)."""
    from llve.run.enhancer import Enhancer
    from llve.stream.pipeline import to_tensor
    from tests.conftest import synthetic_frames

    model = tiny("official").eval()  # tiles the whole network (no decompose_first_tiled)
    frames = synthetic_frames(2, 70, 100)  # 2 x 2 tiles
    enhancer = Enhancer(model=model, device="cpu", options=StreamOptions(tile=64))
    got = [d for _, d in enhancer.decompose_stream(enumerate(frames))]
    x = [to_tensor(f, torch.device("cpu")) for f in frames]
    with torch.no_grad():
        want = [decompose_tiled(model, x[0], x[1], 64), decompose_tiled(model, x[1], x[1], 64)]
    assert len(got) == 2
    for g, w in zip(got, want):
        assert torch.allclose(g.y, w.y, atol=1e-5)


def test_tiling_psnr_is_near_exact_for_a_local_model_and_finite_for_attention():
    x1, x2 = torch.rand(1, 3, 100, 140), torch.rand(1, 3, 100, 140)
    assert tiling_psnr(LocalNet(), x1, x2, tile=64) > 100  # float rounding only
    assert 0 < tiling_psnr(tiny("official").eval(), x1, x2, tile=64) < 100  # attention sees only its tile


def test_fast_network_tiles_only_its_decoders_and_matches_untiled():
    """Attention runs on the whole frame at 1/8; the decoders, tiled with DECODER_REACH of context, are exact."""
    from llve.run.enhancer import Enhancer
    from tests.conftest import synthetic_frames

    torch.manual_seed(0)
    model = tiny("fast").eval()
    x1, x2 = torch.rand(1, 3, 157, 203), torch.rand(1, 3, 157, 203)
    with torch.no_grad():
        whole = decompose_tiled(model, x1, x2, tile=1024)  # one window: the plain untiled path
        tiled = decompose_tiled(model, x1, x2, tile=64)
        for a, b in zip(tiled, whole):
            assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)
        model.DECODER_REACH = 0  # without context the window borders show: the halo is what makes it exact
        assert not torch.allclose(decompose_tiled(model, x1, x2, tile=64).y, whole.y, atol=1e-3)
        del model.DECODER_REACH
    frames = synthetic_frames(3, 70, 100)
    plain = [d for _, d in Enhancer(model=model, device="cpu").decompose_stream(enumerate(frames))]
    tiler = Enhancer(model=model, device="cpu", options=StreamOptions(tile=64))
    tiled = [d for _, d in tiler.decompose_stream(enumerate(frames))]
    assert len(plain) == len(tiled) == 3
    for p, t in zip(plain, tiled):
        assert torch.allclose(p.y, t.y, atol=1e-5)


def test_enhancer_rejects_a_bad_tile_before_reading_anything():
    from llve.run.enhancer import Enhancer

    with pytest.raises(UserInputError, match="^tile 10 is too small"):
        Enhancer(model=LocalNet(), device="cpu", options=StreamOptions(tile=10))
