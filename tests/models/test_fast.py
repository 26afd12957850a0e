"""FastSTCD specifics: the default is small, cheap and shares the official interface; config errors are clear."""
import dataclasses
import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from llve.core.errors import UserInputError
from llve.models import FastSTCD, FastSTCDConfig, build_model
from llve.models.weights import load_model, save_model


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


def test_refine_is_a_residual_on_r_only():
    """The full-resolution layer corrects R's logits: with its output conv zeroed, the network equals one built
    without it; S never has one."""
    torch.manual_seed(0)
    refined = build_model("fast", refine=8).eval()
    plain = build_model("fast", refine=0).eval()
    assert refined.decoder_r.refine is not None and refined.decoder_s.refine is None and plain.decoder_r.refine is None
    missing = plain.load_state_dict(refined.state_dict(), strict=False)
    assert missing.unexpected_keys and all(k.startswith("decoder_r.refine.") for k in missing.unexpected_keys)
    x1, x2 = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        assert not torch.allclose(refined(x1, x2).r1, plain(x1, x2).r1)
        torch.nn.init.zeros_(refined.decoder_r.refine[-1].weight)
        torch.nn.init.zeros_(refined.decoder_r.refine[-1].bias)
        torch.testing.assert_close(refined(x1, x2).y1, plain(x1, x2).y1)
    with pytest.raises(UserInputError, match="refine must be >= 0"):
        build_model("fast", refine=-1)


def test_weights_saved_before_refine_existed_load_without_it(tmp_path):
    """Old .safetensors metadata has no ``refine`` key: the loader rebuilds the network they were trained as."""
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    old = build_model("fast", refine=0).eval()
    save_model(old, tmp_path / "new.safetensors")
    config = dataclasses.asdict(old.cfg)
    del config["refine"]
    save_file(load_file(tmp_path / "new.safetensors"), tmp_path / "old.safetensors",
              metadata={"arch": "fast", "config": json.dumps(config)})
    loaded = load_model(tmp_path / "old.safetensors")
    assert loaded.cfg.refine == 0
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, x).y1, old(x, x).y1)
