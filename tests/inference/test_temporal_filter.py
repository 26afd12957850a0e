"""The temporal filter on R: noise that changes from frame to frame goes, moving content does not smear, a cut
resets."""
import numpy as np
import torch

from llve.models import Decomposition
from llve.stream.options import StreamOptions
from llve.stream.temporal_filter import TemporalFilter


def textured(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth random texture in [0.2, 0.8] (3, H, W): something optical flow can lock on to."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((3, height // 8, width // 8))
    t = torch.nn.functional.interpolate(torch.tensor(coarse)[None], size=(height, width), mode="bicubic",
                                        align_corners=False)[0].numpy()
    return 0.2 + 0.6 * (t - t.min()) / (t.max() - t.min())


def decomposition(r: np.ndarray, s: float = 0.5) -> Decomposition:
    r_t = torch.tensor(r, dtype=torch.float32)[None]
    s_t = torch.full_like(r_t, s)
    return Decomposition(r_t * s_t, r_t, s_t)


def test_static_noise_that_changes_every_frame_is_reduced_and_the_first_frame_is_untouched():
    clean, rng, flt = textured(), np.random.default_rng(1), TemporalFilter()
    raw_err, filtered_err = [], []
    for t in range(8):
        noisy = clean + rng.normal(0, 0.02, clean.shape)
        out = flt(decomposition(noisy))
        if t == 0:
            assert torch.equal(out.r, decomposition(noisy).r)
        raw_err.append(np.abs(noisy - clean).mean())
        filtered_err.append(np.abs(out.r[0].numpy() - clean).mean())
        assert torch.allclose(out.y, out.r * out.s)  # y is rebuilt from the filtered R and the untouched S
    assert np.mean(filtered_err[4:]) < 0.7 * np.mean(raw_err[4:])


def test_moving_content_follows_the_motion_instead_of_smearing():
    big, flt = textured(96, 160, seed=2), TemporalFilter()
    errors = []
    for t in range(6):
        frame = big[:, :, 4 * t:4 * t + 128]  # the scene slides 4 pixels per frame
        out = flt(decomposition(frame))
        errors.append(np.abs(out.r[0].numpy() - frame)[:, 8:-8, 8:-8].mean())
    unaligned = np.abs(big[:, :, 4:132] - big[:, :, 0:128])[:, 8:-8, 8:-8].mean()
    assert max(errors) < 0.15 * unaligned


def test_a_scene_cut_keeps_the_new_frame():
    flt = TemporalFilter()
    for _ in range(3):
        flt(decomposition(textured(seed=3)))
    new = textured(seed=4)
    out = flt(decomposition(new, s=0.7))
    assert np.abs(out.r[0].numpy() - new).mean() < 0.05 * np.abs(textured(seed=3) - new).mean()


def test_the_stream_filters_exposure_networks_by_default_and_keeps_the_papers_protocol_for_the_others():
    from llve.models import build_model
    from llve.run.enhancer import Enhancer
    from tests.conftest import synthetic_frames

    frames = synthetic_frames(4, 48, 64)
    torch.manual_seed(0)
    exposure_net = build_model("fast", width=16, exposure=True)

    def outputs(model, **options):
        enhancer = Enhancer(model=model, device="cpu", options=StreamOptions(**options))
        return [f.y for f in enhancer.decompose_frames(frames)]

    off, auto = outputs(exposure_net, temporal_filter="off"), outputs(exposure_net)
    assert np.array_equal(off[0], auto[0]) and not all(np.array_equal(a, b) for a, b in zip(off[1:], auto[1:]))
    torch.manual_seed(0)
    paper_net = build_model("fast", width=16)
    assert all(np.array_equal(a, b) for a, b in zip(outputs(paper_net), outputs(paper_net, temporal_filter="off")))
    assert not all(np.array_equal(a, b) for a, b in zip(outputs(paper_net), outputs(paper_net, temporal_filter="on")))


def test_llve_enhance_passes_temporal_filter_to_the_stream(tmp_path):
    from llve.cli import main
    from llve.models import build_model
    from llve.models.weights import save_model
    from tests.batch.helpers import decode
    from tests.conftest import synthetic_frames, write_clip

    torch.manual_seed(0)
    weights = tmp_path / "exposure.safetensors"
    save_model(build_model("fast", width=16, exposure=True), weights)
    clip = write_clip(tmp_path / "in.mp4", synthetic_frames(4, 48, 64))
    frames = {}
    for setting in ("off", "on"):
        out = tmp_path / f"{setting}.mkv"
        assert main(["enhance", str(clip), "-o", str(out), "--weights", str(weights), "--lossless", "--quiet",
                     "--temporal-filter", setting]) == 0
        frames[setting] = decode(out)
    assert np.array_equal(frames["off"][0], frames["on"][0])
    assert not all(np.array_equal(a, b) for a, b in zip(frames["off"][1:], frames["on"][1:]))


def test_the_filters_written_into_spent_buffers_equal_their_plain_formulas_bit_for_bit():
    """Both filters reuse buffers of the frame's that are no longer needed (4K frames then skip 100 MB page-faulted
    allocations); the values are those of the plain formulas, computed here with fresh arrays and torch's multiply."""
    import cv2

    from llve.core.image import tensor_to_hwc
    from llve.flow.warp import pixel_grid, warp_np
    from llve.stream import temporal_filter as tf
    from llve.stream.spatial_filter import SpatialFilter

    rng = np.random.default_rng(3)
    frames = [decomposition(np.clip(textured(seed=1) + rng.normal(0, 0.03, (3, 96, 128)), 0, 1), s=0.4 + 0.1 * k)
              for k in range(3)]
    flt, spatial = TemporalFilter(), SpatialFilter()
    got = [flt(d) for d in frames]
    history, gray = tensor_to_hwc(frames[0].r), tf._gray(tensor_to_hwc(frames[0].y))
    for d, out in zip(frames[1:], got[1:]):  # the plain formula of r + w (history - r)
        r, s, g = tensor_to_hwc(d.r), tensor_to_hwc(d.s), tf._gray(tensor_to_hwc(d.y))
        flow = cv2.resize(flt.flow.calc(g, gray, None) * tf.FLOW_SCALE, r.shape[1::-1])
        warped = cv2.remap(history, pixel_grid(*r.shape[:2]) + flow, None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        disagreement = cv2.transform(cv2.multiply(cv2.absdiff(r, warped), s), tf.THIRDS)
        disagreement = cv2.blur(cv2.resize(disagreement, g.shape[::-1], interpolation=cv2.INTER_AREA), (3, 3))
        weight = cv2.resize(tf.STRENGTH * np.exp(-np.square(disagreement / tf.TOLERANCE)), r.shape[1::-1])
        history = cv2.add(r, cv2.multiply(cv2.subtract(warped, r), cv2.merge([weight] * 3)))
        gray = g
        r_t = torch.from_numpy(history).permute(2, 0, 1)[None]
        assert torch.equal(out.r, r_t) and torch.equal(out.y, r_t * d.s)
    flow = rng.normal(0, 2, (96, 128, 2)).astype(np.float32)
    image = tensor_to_hwc(frames[0].r)
    assert np.array_equal(warp_np(image, flow.copy(), in_place=True), warp_np(image, flow))
    out = spatial(got[2])
    assert torch.equal(out.y, out.r * got[2].s) and float(out.r.min()) >= 0 and float(out.r.max()) <= 1
