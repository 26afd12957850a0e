"""The official network: exact reference outputs, checkpoint compatibility, streaming equivalence."""
from pathlib import Path

import pytest
import torch

from llve.core.errors import UserInputError
from llve.models import STCD, STCDConfig, build_model
from llve.models.weights import load_model, read_weights, save_model

DATA = Path(__file__).parent.parent / "data"
NAMES = ["R1", "R2", "Y1", "Y2", "S1", "S2"]


def test_state_dict_keys_and_shapes_equal_official():
    expected = {}
    for line in (DATA / "keys.txt").read_text().splitlines():
        key, shape = line.split("\t")
        expected[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    ours = {k: tuple(v.shape) for k, v in STCD().state_dict().items()}
    assert ours == expected
    assert sum(v.numel() for v in STCD().state_dict().values()) == 1_810_678


def test_reproduces_official_outputs():
    model = load_model(DATA / "weights.pth")
    io = torch.load(DATA / "io.pt", weights_only=True)
    with torch.no_grad():
        out = model(io["x1"], io["x2"])
    errors = {n: (t - io[n]).abs().max().item() for n, t in zip(NAMES, out)}
    print("max abs error per output:", errors)
    assert max(errors.values()) < 1e-4, errors


def test_module_prefix_and_strict_loading(tmp_path):
    state = torch.load(DATA / "weights.pth", weights_only=True)
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "ddp.pth")
    model = load_model(tmp_path / "ddp.pth")
    assert torch.equal(model.conv_first_1.weight, state["conv_first_1.weight"])


def test_wrong_keys_are_named(tmp_path):
    state = torch.load(DATA / "weights.pth", weights_only=True)
    state.pop("trans1.attn.temperature")
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(UserInputError, match="trans1.attn.temperature.*extra.weight"):
        load_model(tmp_path / "bad.pth")


def test_not_a_state_dict(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserInputError, match="not a PyTorch state_dict"):
        read_weights(tmp_path / "junk.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(UserInputError, match="do not hold a state_dict"):
        read_weights(tmp_path / "list.pth")


def test_safetensors_roundtrip_rebuilds_from_file_alone(tmp_path):
    model = build_model("official", width=8)
    save_model(model, tmp_path / "w.safetensors")
    loaded = load_model(tmp_path / "w.safetensors")
    assert loaded.cfg == STCDConfig(width=8)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])


def test_streaming_decomposition_equals_pair_forward():
    torch.manual_seed(0)
    model = build_model("official", width=16).eval()
    x1, x2 = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        pair = model(x1, x2)
        first = model.decompose_first(model.encode(x1), model.encode(x2))
    assert torch.allclose(first.y, pair.y1, atol=1e-6)
    assert torch.allclose(first.r, pair.r1, atol=1e-6)
    assert torch.allclose(first.s, pair.s1, atol=1e-6)
    assert torch.allclose(first.r * first.s, first.y)


def test_backward_and_width_argument():
    model = build_model("official", width=8)
    out = model(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16))
    out.y1.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_unknown_arch_and_config_key():
    with pytest.raises(UserInputError, match="unknown model"):
        build_model("nope")
    with pytest.raises(UserInputError, match="bad config"):
        build_model("official", colour=3)
