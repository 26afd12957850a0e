"""The exposure control end to end: the network's S path takes the target, the stream hits it."""
import numpy as np
import pytest
import torch

from llve.models import FastSTCD, FastSTCDConfig
from llve.models.weights import read_weights
from llve.run.enhancer import DEFAULT_WEIGHTS, Enhancer
from llve.stream.exposure import metered_luma as mean_luma
from llve.stream.options import StreamOptions


def dark_clip(frames: int = 3, size: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(2, 30, (size, size, 3)).astype(np.uint8)
    return [np.clip(base.astype(int) + rng.integers(-2, 3, base.shape), 0, 255).astype(np.uint8)
            for _ in range(frames)]


def steered_network() -> FastSTCD:
    """A fresh exposure-controlled network whose S logits follow logit(target) and whose R is near 1: it delivers
    roughly, not exactly, what it is asked for - like a trained one."""
    torch.manual_seed(0)
    net = FastSTCD(FastSTCDConfig(half_width=8, quarter_width=8, width=16, heads=2, exposure=True)).eval()
    last = net.exposure.mlp[2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        hidden = net.exposure.mlp[0]
        hidden.weight.zero_()
        hidden.bias.zero_()
        hidden.weight[0, 0], hidden.bias[0] = 1.0, 5.0             # hidden unit 0 = logit(e) + 5 (> 0: linear)
        last.weight[-3:, 0], last.bias[-3:] = 1.0, -5.0            # S's three logit shifts = logit(e)
        net.decoder_r.head.bias.fill_(4.0)                         # R near 1, so Y ~ S ~ the target
    return net


def test_untrained_control_starts_as_the_identity():
    torch.manual_seed(0)
    net = FastSTCD(FastSTCDConfig(half_width=8, quarter_width=8, width=16, heads=2, exposure=True)).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        f = net.encode(x)
        a, b = net.decompose_first(f, f, torch.tensor([0.2])), net.decompose_first(f, f, torch.tensor([0.7]))
    assert torch.equal(a.y, b.y)


def test_the_stream_passes_the_target_and_brightness_follows_it():
    lumas = []
    for target in (0.2, 0.4, 0.6):
        enhancer = Enhancer(model=steered_network(), device="cpu", options=StreamOptions(exposure=target))
        out = list(enhancer.enhance_frames(dark_clip()))
        lumas.append(np.mean([mean_luma(f) for f in out]))
        assert enhancer.exposure_controller.summary().frames == 3
    assert lumas[0] < lumas[1] < lumas[2]


def test_auto_exposure_and_fixed_exposure_with_the_feedback_land_near_the_target():
    for target in (0.3, 0.6):
        enhancer = Enhancer(model=steered_network(), device="cpu", options=StreamOptions(exposure=target))
        out = list(enhancer.enhance_frames(dark_clip(6)))
        assert abs(mean_luma(out[0]) - target) < 0.05        # calibrated first frame
        assert abs(mean_luma(out[-1]) - target) < 0.03


def test_a_saturating_network_clips_nothing():
    """R ~ 1 and S asked for 0.97: the network's own y = r * s is white nearly everywhere; the stream's roll-off
    keeps every pixel below the clipping level, a light source's included."""
    net = steered_network()
    with torch.no_grad():
        net.decoder_r.head.bias.fill_(8.0)
    frames = dark_clip(2)
    for f in frames:
        f[10:20, 10:20] = 255                                  # a light source, clipped in the input
    lamp = np.zeros(frames[0].shape[:2], bool)
    lamp[10:20, 10:20] = True
    x = torch.from_numpy(frames[0]).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        f1 = net.encode(x)
        raw = net.decompose_first(f1, f1, torch.tensor([0.98])).y
    raw = (raw[0].permute(1, 2, 0).numpy() * 255).round()
    assert (raw.max(axis=2) >= 250)[~lamp].mean() > 0.5       # without the roll-off most pixels would clip
    out = list(Enhancer(model=net, device="cpu", options=StreamOptions(exposure=0.97)).enhance_frames(frames))
    for y in out:
        assert (y.max(axis=2) >= 250).mean() == 0.0
        assert y.min() >= 200                                  # still bright: rolled off, not darkened


def test_a_bad_exposure_is_a_user_error():
    from llve.core.errors import UserInputError

    with pytest.raises(UserInputError, match="exposure"):
        Enhancer(model=steered_network(), device="cpu", options=StreamOptions(exposure=1.5))


bundled_control = DEFAULT_WEIGHTS.is_file() and read_weights(DEFAULT_WEIGHTS)[2].get("exposure", False)


@pytest.mark.skipif(not bundled_control, reason="the bundled weights have no exposure control")
def test_bundled_weights_follow_the_exposure_monotonically_and_land_on_it():
    clip = dark_clip(4, 96)
    lumas = []
    for target in (0.25, 0.35, 0.45, 0.55, 0.65):
        out = list(Enhancer(device="cpu", options=StreamOptions(exposure=target)).enhance_frames(clip))
        lumas.append(np.mean([mean_luma(f) for f in out]))
        assert abs(lumas[-1] - target) < 0.05
    assert all(b > a for a, b in zip(lumas, lumas[1:]))
