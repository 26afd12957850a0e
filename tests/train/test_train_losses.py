"""STCD losses: hand-computed values, zero-ish loss for perfect inputs, the reduction rule, gradient flow."""
import math

import pytest
import torch

from llve.data.datasets import TrainBatch
from llve.flow.warp import warp
from llve.models import build_model
from llve.train.losses import LossConfig, charbonnier, consistency, smoothness, stcd_loss

EPS_FLOOR = math.sqrt(1e-6)  # Charbonnier of a zero difference


def test_charbonnier_hand_computed():
    a = torch.zeros(2, 1, 1, 2)
    b = torch.tensor([3.0, 4.0]).view(1, 1, 1, 2).repeat(2, 1, 1, 1)
    b[1] = 0
    got = charbonnier(a, b)
    assert got.shape == (2,)
    assert got[0].item() == pytest.approx(math.sqrt(9 + 1e-6) + math.sqrt(16 + 1e-6), rel=1e-6)
    assert got[1].item() == pytest.approx(2 * EPS_FLOOR, rel=1e-4)


def test_warp_hand_computed_half_pixel_and_border():
    img = torch.tensor([0.0, 1.0, 2.0]).view(1, 1, 1, 3)
    flow = torch.zeros(1, 2, 1, 3)
    flow[:, 0] = 0.5
    assert warp(img, flow).flatten().tolist() == pytest.approx([0.5, 1.5, 2.0])
    flow[:, 0] = -1.0
    assert warp(img, flow).flatten().tolist() == pytest.approx([0.0, 0.0, 1.0])


def test_smoothness_hand_computed_on_flat_ground_truth():
    gt = torch.full((1, 3, 2, 2), 0.5)  # flat: both weights are 1.5 / (0 + 1e-4) = 15000
    s = torch.zeros(1, 3, 2, 2)
    s[..., 0, 0], s[..., 0, 1], s[..., 1, 0] = 0.5, 0.3, 0.1
    # one position (top-left); per channel 15000 * (0.2^2 + 0.4^2) = 3000; 3 channels; halved.
    assert smoothness(s, gt).item() == pytest.approx(4500.0, rel=1e-4)
    assert smoothness(torch.full_like(s, 0.7), gt).item() == 0.0


def test_smoothness_is_cheap_across_ground_truth_edges():
    gt = torch.full((1, 3, 8, 8), 0.1)
    gt[..., 4:] = 0.9  # vertical edge between columns 3 and 4
    along_edge = torch.zeros(1, 3, 8, 8)
    along_edge[..., 4:] = 1.0
    across_edge = torch.zeros(1, 3, 8, 8)
    across_edge[..., 4:, :] = 1.0
    assert smoothness(along_edge, gt).item() < 1e-3 * smoothness(across_edge, gt).item()


def _shifted_pair(shift: int = 2):
    torch.manual_seed(0)
    base = torch.rand(1, 3, 12, 16 + shift)
    r1, r2 = base[..., :16], base[..., shift:16 + shift]  # frame-1 pixel x shows frame-2 pixel x - shift
    flow12 = torch.zeros(1, 2, 12, 16)
    flow12[:, 0] = -shift
    flow21 = -flow12
    cert1 = torch.ones(1, 1, 12, 16)
    cert1[..., :shift] = 0  # those pixels leave frame 2
    cert2 = torch.ones(1, 1, 12, 16)
    cert2[..., 16 - shift:] = 0
    return r1, r2, flow12, flow21, cert1, cert2


def test_consistency_is_at_the_floor_for_perfect_correspondences_and_high_for_wrong_ones():
    r1, r2, f12, f21, c1, c2 = _shifted_pair()
    floor = r1[0].numel() * EPS_FLOOR
    assert consistency(r1, r2, f12, f21, c1, c2).item() == pytest.approx(floor, rel=1e-3)
    wrong = consistency(r1, r2, torch.zeros_like(f12), torch.zeros_like(f21), c1, c2).item()
    assert wrong > 50 * floor
    zero_cert = consistency(r1, r2, torch.zeros_like(f12), torch.zeros_like(f21), 0 * c1, 0 * c2).item()
    assert zero_cert == pytest.approx(floor, rel=1e-3)


def _fake_out(b=1, h=8, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    r1, r2, s1, s2 = (torch.rand(b, 3, h, w, generator=g) for _ in range(4))
    from llve.models import PairOutput
    return PairOutput(r1, r2, r1 * s1, r2 * s2, s1, s2)


def _batch(b=1, h=8, w=12, seed=1):
    g = torch.Generator().manual_seed(seed)
    targets = dict(gt1=torch.rand(b, 3, h, w, generator=g), gt2=torch.rand(b, 3, h, w, generator=g),
                   flow12=torch.randn(b, 2, h, w, generator=g), flow21=torch.randn(b, 2, h, w, generator=g),
                   cert1=torch.rand(b, 1, h, w, generator=g), cert2=torch.rand(b, 1, h, w, generator=g))
    return TrainBatch(**targets, low1=torch.rand(b, 3, h, w, generator=g), low2=torch.rand(b, 3, h, w, generator=g),
                      exposure1=torch.rand(b, generator=g), exposure2=torch.rand(b, generator=g),
                      seq=["x"] * b, index=torch.arange(b))


def test_mean_reduction_is_sum_over_values_at_batch_one_and_batch_size_independent():
    out, batch = _fake_out(), _batch()
    total_sum = stcd_loss(out, batch, LossConfig(reduction="sum"))
    total_mean = stcd_loss(out, batch, LossConfig(reduction="mean"))
    for s, m in zip(total_sum, total_mean):
        assert (m * 3 * 8 * 12).item() == pytest.approx(s.item(), rel=1e-5)
    # Duplicating the batch leaves the mean loss unchanged but doubles the official (sum) pixel term.
    dup_out = type(out)(*(torch.cat([t, t]) for t in out))
    dup_batch = TrainBatch(**{k: torch.cat([v, v]) for k, v in vars(batch).items() if k != "seq"}, seq=batch.seq * 2)
    assert stcd_loss(dup_out, dup_batch).total.item() == pytest.approx(total_mean.total.item(), rel=1e-5)
    assert stcd_loss(dup_out, dup_batch, LossConfig(reduction="sum")).pixel.item() == pytest.approx(
        2 * total_sum.pixel.item(), rel=1e-5)


def test_weights_scale_their_terms():
    out, batch = _fake_out(), _batch()
    base = stcd_loss(out, batch, LossConfig(pixel=1, smooth=0.1, consistency=0.1))
    other = stcd_loss(out, batch, LossConfig(pixel=2, smooth=0.0, consistency=0.3))
    assert other.pixel.item() == pytest.approx(2 * base.pixel.item(), rel=1e-6)
    assert other.smooth.item() == 0.0
    assert other.consistency.item() == pytest.approx(3 * base.consistency.item(), rel=1e-6)
    assert base.total.item() == pytest.approx((base.pixel + base.smooth + base.consistency).item(), rel=1e-6)


def test_gradients_reach_every_parameter_of_the_network():
    torch.manual_seed(0)
    model = build_model("official", width=8, heads=2)
    x1, x2 = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    terms = stcd_loss(model(x1, x2), _batch(h=16, w=16))
    terms.total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert sum(p.grad.abs().sum().item() > 0 for p in model.parameters()) == len(list(model.parameters()))


def test_structure_and_gradient_terms_see_blur_that_the_pixel_loss_barely_sees():
    from llve.train.losses import charbonnier, gradient, structure

    g = torch.Generator().manual_seed(0)
    gt = torch.rand(1, 3, 32, 32, generator=g) * 0.5 + 0.25
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(gt, [1] * 4, mode="replicate"), 3, stride=1)
    n = gt.numel()
    assert structure(gt, gt).item() == pytest.approx(0, abs=1e-3) and gradient(gt, gt).item() / n < 2e-3
    pixel_change = charbonnier(blurred, gt).item() / n
    assert structure(blurred, gt).item() / n > 3 * pixel_change      # 1 - SSIM punishes smearing texture
    assert gradient(blurred, gt).item() / n > pixel_change


def test_structure_terms_are_off_by_default_and_weighted_when_on():
    from llve.train.losses import LossConfig

    assert LossConfig().structure == 0 and LossConfig().gradient == 0


def test_histogram_term_sees_a_grey_picture_that_squared_error_rates_safe():
    from llve.train.losses import charbonnier, histogram

    g = torch.Generator().manual_seed(2)
    gt = (torch.rand(1, 1, 16, 16, generator=g) > 0.5).float().expand(1, 3, 16, 16) * 0.8 + 0.1  # black or white
    grey = torch.full_like(gt, float(gt.mean()))                  # every pixel the safe guess: the mean
    shuffled = gt.flatten(2)[..., torch.randperm(256, generator=g)].view_as(gt)  # right values, wrong places
    assert histogram(gt, gt).item() == 0
    assert histogram(shuffled, gt).item() == pytest.approx(0, abs=1e-4)  # where the pixels are does not count
    assert histogram(grey, gt).item() > 0.9 * charbonnier(grey, gt).item()  # a grey picture costs its full range
    assert ((grey - gt) ** 2).mean() < 0.6 * ((shuffled - gt) ** 2).mean()  # which squared error (PSNR) prefers


def test_histogram_term_is_off_by_default_and_weighted_when_on():
    out, batch = _fake_out(h=16, w=16), _batch(h=16, w=16)
    assert LossConfig().histogram == 0
    off, once, twice = (stcd_loss(out, batch, LossConfig(histogram=w)) for w in (0.0, 1.0, 2.0))
    assert off.histogram.item() == 0 and once.histogram.item() > 0
    assert twice.histogram.item() == pytest.approx(2 * once.histogram.item(), rel=1e-6)
    assert twice.total.item() == pytest.approx(off.total.item() + twice.histogram.item(), rel=1e-5)
    for reduction in ("sum", "mean"):  # the other terms are as before
        a, b = stcd_loss(out, batch, LossConfig(reduction=reduction)), stcd_loss(out, batch, LossConfig(
            histogram=1.0, reduction=reduction))
        assert a.pixel.item() == b.pixel.item() and a.consistency.item() == b.consistency.item()
