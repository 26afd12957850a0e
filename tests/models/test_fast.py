"""FastSTCD specifics: the default is small, cheap and shares the official interface; config errors are clear."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from llve.errors import UserInputError
from llve.models import FastSTCD, FastSTCDConfig, build_model


def test_default_parameters_fit_well_under_10_mb():
    params = sum(p.numel() for p in FastSTCD().parameters())
    assert params * 4 < 2_000_000, params  # float32 bytes


def test_far_fewer_flops_than_official_per_streamed_frame():
    """FLOPs are counted, not timed: the streaming step of fast costs < 1/20 of the official one."""
    x = torch.rand(1, 3, 64, 96)
    costs = {}
    for arch in ("official", "fast"):
        model = build_model(arch).eval()
        with torch.no_grad():
            partner = model.encode(x)
            with FlopCounterMode(display=False) as counter:
                model.decompose_first(model.encode(x), partner)
        costs[arch] = counter.get_total_flops()
    assert costs["fast"] * 20 < costs["official"], costs


def test_self_attention_is_cached_in_features():
    """The partner's self-attention comes from its cached features: changing them changes frame 1's output."""
    torch.manual_seed(0)
    model = build_model("fast", width=8, half_width=4, quarter_width=8, heads=2).eval()
    x1, x2 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        f1, f2 = model.encode(x1), model.encode(x2)
        base = model.decompose_first(f1, f2).y
        moved = model.decompose_first(f1, f2._replace(attended=f2.attended + 1)).y
    assert not torch.allclose(base, moved)


def test_bad_config_is_a_user_error():
    with pytest.raises(UserInputError, match="divisible by heads"):
        build_model("fast", width=10, heads=4)
    with pytest.raises(UserInputError, match="bad config"):
        build_model("fast", depth=3)
    assert FastSTCDConfig().width % FastSTCDConfig().heads == 0
