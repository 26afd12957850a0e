"""Generated from ``ARCHITECTURES``: every registered network gets a tiny CPU test of the shared interface."""
import pytest
import torch

from llve.models import ARCHITECTURES, Decomposition, PairOutput, arch_name
from llve.models.padding import Padder
from llve.models.weights import load_model, save_model
from tests.conftest import tiny_model as tiny


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_pair_forward_shapes_range_and_decomposition(arch):
    model = tiny(arch).eval()
    m = model.size_multiple
    x1, x2 = torch.rand(2, 3, 2 * m, 3 * m), torch.rand(2, 3, 2 * m, 3 * m)
    with torch.no_grad():
        out = model(x1, x2)
    assert isinstance(out, PairOutput)
    for t in out:
        assert t.shape == x1.shape and torch.isfinite(t).all()
        assert t.min() >= 0 and t.max() <= 1
    assert torch.allclose(out.y1, out.r1 * out.s1) and torch.allclose(out.y2, out.r2 * out.s2)
    assert not torch.allclose(out.y1, out.y2)  # each frame gets its own output


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_backward_reaches_every_parameter(arch):
    model = tiny(arch)
    m = model.size_multiple
    out = model(torch.rand(1, 3, 2 * m, 2 * m), torch.rand(1, 3, 2 * m, 2 * m))
    (out.y1.mean() + out.y2.mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_streaming_step_equals_pair_forward_frame_one(arch):
    model = tiny(arch).eval()
    m = model.size_multiple
    x1, x2 = torch.rand(1, 3, 4 * m, 6 * m), torch.rand(1, 3, 4 * m, 6 * m)
    with torch.no_grad():
        pair = model(x1, x2)
        first = model.decompose_first(model.encode(x1), model.encode(x2))
    assert isinstance(first, Decomposition)
    for got, want in ((first.y, pair.y1), (first.r, pair.r1), (first.s, pair.s1)):
        assert torch.allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_odd_sizes_through_padder(arch):
    model = tiny(arch).eval()
    x1, x2 = torch.rand(1, 3, 37, 29), torch.rand(1, 3, 37, 29)
    padder = Padder(37, 29, model.size_multiple)
    with torch.no_grad():
        out = model(padder.pad(x1), padder.pad(x2))
    assert padder.crop(out.y1).shape == (1, 3, 37, 29)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_safetensors_roundtrip(arch, tmp_path):
    model = tiny(arch)
    save_model(model, tmp_path / "w.safetensors")
    loaded = load_model(tmp_path / "w.safetensors")
    assert arch_name(loaded) == arch and loaded.cfg == model.cfg
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
