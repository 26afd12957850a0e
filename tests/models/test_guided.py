"""The guided network: the fast network at low resolution, carried to every full-resolution pixel."""
import torch

from llve.models import FastSTCD, FastSTCDConfig, GuidedSTCD, GuidedSTCDConfig
from llve.models.guided import _box, _shrink, _shrunk_with_square, _up, _up_hwc, affine_fit, noise_floor


def guided_upsample(x_low, y_low, x_full, radius, eps):
    """The guided network's Y without the input's detail: the affine fit at low resolution, applied to x_full."""
    a, b = torch.nn.functional.interpolate(affine_fit(x_low, y_low, radius, eps), size=x_full.shape[-2:],
                                           mode="bilinear", align_corners=False).chunk(2, 1)
    return a * x_full + b


def test_a_local_affine_map_is_carried_to_full_resolution_exactly():
    g = torch.Generator().manual_seed(0)
    x_full = torch.rand(1, 3, 64, 96, generator=g) * 0.2
    x_low = torch.nn.functional.adaptive_avg_pool2d(x_full, (16, 24))
    y = guided_upsample(x_low, 3 * x_low + 0.1, x_full, radius=1, eps=1e-6)
    assert torch.allclose(y, 3 * x_full + 0.1, atol=2e-3)  # the input's own full-resolution detail, brightened


def test_flat_noise_is_not_carried_where_the_low_resolution_result_is_flat():
    g = torch.Generator().manual_seed(1)
    x_full = 0.1 + 0.01 * torch.randn(1, 3, 64, 64, generator=g)
    x_low = torch.nn.functional.adaptive_avg_pool2d(x_full, (16, 16))
    y = guided_upsample(x_low, torch.full_like(x_low, 0.5), x_full, radius=1, eps=0.01)
    assert (y - 0.5).abs().max() < 0.05 and y.std() < 0.2 * (x_full.std() * 5)


def test_the_network_sees_the_frame_at_low_side_and_equals_the_fast_network_when_small():
    cfg = dict(half_width=4, quarter_width=8, width=16, heads=2, refine=4, exposure=True)
    fast = FastSTCD(FastSTCDConfig(**cfg)).eval()
    guided = GuidedSTCD(GuidedSTCDConfig(**cfg, low_side=32)).eval()
    guided.load_state_dict(fast.state_dict())  # same parameters: fast weights load unchanged
    big = torch.rand(1, 3, 96, 128)
    assert guided.encode(big).core.pixels.shape[-2:] == (16, 20)  # 32 x 40, unshuffled 2x2
    assert guided.low_size(96, 128) == (32, 40)
    assert guided.low_size(40, 48) == (40, 48)  # within 1.5x of low_side: the whole frame, like the fast network
    small = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        a = guided.decompose_first(guided.encode(small), guided.encode(small))
        b = fast.decompose_first(fast.encode(small), fast.encode(small))
    for got, want in zip(a, b):
        assert torch.allclose(got, want)
    with torch.no_grad():
        d = guided.decompose_first(guided.encode(big), guided.encode(big), torch.tensor([0.4]))
    assert d.y.shape == big.shape and torch.allclose(d.y, d.r * d.s)


def test_a_frame_at_its_own_size_gets_the_fast_networks_exact_decoder_tiles():
    cfg = dict(half_width=4, quarter_width=8, width=16, heads=2, refine=4)
    guided = GuidedSTCD(GuidedSTCDConfig(**cfg, low_side=64)).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        f = guided.encode(x)
        whole, tiled = guided.decompose_first(f, f), guided.decompose_first_tiled(f, f, tile=32)
    assert f.low.shape == x.shape
    for a, b in zip(whole, tiled):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)  # R = Y / S: S down to 1e-3 magnifies rounding


def test_the_inputs_own_detail_is_added_only_to_frames_shrunk_at_least_twice():
    cfg = dict(half_width=4, quarter_width=8, width=16, heads=2, refine=4)
    with_detail = GuidedSTCD(GuidedSTCDConfig(**cfg, low_side=32, detail=4)).eval()
    without = GuidedSTCD(GuidedSTCDConfig(**cfg, low_side=32, detail=0)).eval()
    without.load_state_dict(with_detail.state_dict())
    torch.manual_seed(0)
    for size, differs in (((56, 72), False), ((128, 160), True)):  # shrunk 1.75x, then 4x
        x = torch.rand(1, 3, *size)
        with torch.no_grad():
            a = with_detail.decompose_first(with_detail.encode(x), with_detail.encode(x))
            b = without.decompose_first(without.encode(x), without.encode(x))
        assert with_detail.low_size(*size) != size
        assert (not torch.allclose(a.y, b.y)) == differs, size


def test_the_streams_opencv_assembly_equals_the_torch_one_the_training_uses():
    cfg = dict(half_width=4, quarter_width=8, width=16, heads=2, refine=4, exposure=True)
    guided = GuidedSTCD(GuidedSTCDConfig(**cfg, low_side=32, detail=4)).eval()
    torch.manual_seed(0)
    for size in ((56, 72), (128, 160)):  # the affine fit of Y, then the input's detail
        x = torch.rand(1, 3, *size) * 0.3
        f = guided.encode(x)
        with torch.no_grad():
            fast = guided.decompose_first(f, f, torch.tensor([0.4]))
        with torch.enable_grad():
            plain = guided.decompose_first(f, f, torch.tensor([0.4]))
        assert fast.y.is_contiguous(memory_format=torch.channels_last) and plain.y.is_contiguous()
        for got, want in zip(fast, plain):
            assert got.shape == want.shape and torch.allclose(got, want.detach(), atol=1e-5), size


def test_the_opencv_interpolation_equals_torchs_and_the_assembly_clamps_alike_on_it():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 3, 40, 56, generator=g)
    coefficients = torch.randn(1, 12, 10, 14, generator=g)  # Y above S, below 0, S outside (0, 1]: every clamp bites
    planes = _up_hwc(coefficients, x.shape[-2:])
    for a, b in zip(planes, _up(coefficients, x.shape[-2:]).chunk(4, 1)):
        assert a.is_contiguous(memory_format=torch.channels_last) and torch.allclose(a, b, atol=1e-6)
    got = GuidedSTCD._assembled(x.contiguous(memory_format=torch.channels_last), *planes)
    want = GuidedSTCD._assembled(x, *_up(coefficients, x.shape[-2:]).chunk(4, 1))
    assert (want.y == want.s).float().mean() > 0.1 and (want.y == 0).float().mean() > 0.1
    for a, b in zip(got, want):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)  # R = Y / S: S down to 1e-3 magnifies rounding


def test_the_in_place_assembly_and_the_one_copy_shrinks_equal_their_plain_forms_bit_for_bit():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 3, 40, 56, generator=g).contiguous(memory_format=torch.channels_last)
    coefficients = torch.randn(1, 12, 10, 14, generator=g)  # every clamp bites (previous test)
    want = GuidedSTCD._assembled(x, *_up_hwc(coefficients, x.shape[-2:]))
    planes = _up_hwc(coefficients, x.shape[-2:])
    got = GuidedSTCD._assembled(x, *planes, in_place=True)
    assert all(torch.equal(a, b) for a, b in zip(got, want))
    assert got.s.data_ptr() == planes[3].data_ptr() and got.r.data_ptr() == planes[0].data_ptr()  # no new buffers
    before = x.clone()
    with torch.inference_mode():
        low, square = _shrunk_with_square(x, (10, 14), square=True)
    assert torch.equal(low, _shrink(x, (10, 14))) and torch.equal(square, _shrink(x * x, (10, 14)))
    assert torch.equal(x, before)  # x itself is not squared
    assert _shrunk_with_square(x, (10, 14), square=False)[1] is None


def test_the_window_mean_and_the_noise_floor_equal_their_plain_torch_definitions():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 17, 23, generator=g)
    for radius in (1, 2):
        plain = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, [radius] * 4, mode="replicate"),
                                               2 * radius + 1, stride=1)
        assert torch.allclose(_box(x, radius), plain, atol=1e-6)
    for n in (7, 8, 200):  # odd and even counts: the median interpolates between the middle two
        local = torch.rand(2, 3, 1, n, generator=g)
        plain = local.mean(1, keepdim=True).flatten(1).quantile(0.5, dim=1).view(-1, 1, 1, 1)
        assert torch.allclose(noise_floor(local), plain, atol=1e-7)
