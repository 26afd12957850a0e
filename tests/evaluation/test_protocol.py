"""The evaluation protocol on generated trees where every expected number is known in advance."""
import json
import math
import re

import numpy as np
import pytest
import torch

from conftest import texture, write_npy_sequence
from llve.core.errors import UserInputError
from llve.core.image import float_to_uint8
from llve.data.eval_clips import DataConfig, clip_sources
from llve.evaluate import metrics
from llve.evaluate.protocol import EvalConfig, evaluate, evaluate_to_folder, network_method
from llve.evaluate.report import results_dict
from llve.media.frames import write_frame
from llve.models.stcd import STCD, STCDConfig
from llve.models.weights import save_model
from llve.run.enhancer import Enhancer

PSNR_10 = 10 * math.log10(255 ** 2 / 100)  # every value off by 10
PSNR_5 = 10 * math.log10(255 ** 2 / 25)


def _cfg(root, kind="sdsd", **data):
    data = {"frames": 3, "size": None, **data}
    return EvalConfig(DataConfig(kind, str(root), **data), method="identity", panels=2)


def test_known_per_sequence_numbers_and_both_averages(sdsd_tree):
    warnings = []
    res = evaluate(_cfg(sdsd_tree, sequences=("pairB", "pairC")), warn=warnings.append)
    seqs = {s.name: s for s in res.sequences}
    assert seqs["pairB"].psnr == pytest.approx(PSNR_10, abs=1e-9) and seqs["pairB"].frames == 3
    assert seqs["pairC"].psnr == pytest.approx(PSNR_5, abs=1e-9) and seqs["pairC"].frames == 2
    assert 0.9 < seqs["pairB"].ssim < seqs["pairC"].ssim < 1.0  # a larger offset costs more SSIM
    s = res.summary
    assert s.psnr_mean_of_sequences == pytest.approx((PSNR_10 + PSNR_5) / 2)
    assert s.psnr_mean_of_frames == pytest.approx((3 * PSNR_10 + 2 * PSNR_5) / 5)
    assert s.frames == 5 and s.sequences == 2
    assert len(warnings) == 1 and "pairC" in warnings[0] and res.warnings == warnings
    # The ground truth is the input plus a constant: same motion, same flicker, same warping error.
    assert seqs["pairB"].flicker == pytest.approx(seqs["pairB"].flicker_gt, abs=1e-9)
    assert seqs["pairB"].flow_source == "ground_truth"


def test_identical_ground_truth_gives_inf_and_one_in_strict_json(sdsd_tree, tmp_path):
    res, paths = evaluate_to_folder(_cfg(sdsd_tree), tmp_path / "out")
    seqs = {s.name: s for s in res.sequences}
    assert seqs["pairA"].psnr == math.inf and seqs["pairA"].ssim == pytest.approx(1.0)
    data = json.loads(paths.json.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))
    assert data["summary"]["psnr_mean_of_sequences"] == "inf"
    assert [f["psnr"] for f in data["frames"] if f["sequence"] == "pairA"] == ["inf"] * 3
    assert data["summary"]["ssim_mean_of_frames"] == pytest.approx(np.mean([f.ssim for f in res.frames]))
    csv_lines = paths.csv.read_text().splitlines()
    assert csv_lines[0].startswith("sequence,index,file,psnr,ssim") and len(csv_lines) == 1 + 8
    page = paths.html.read_text()
    assert page.count("data:image/png;base64,") >= 2 * 5 and "pairC" in page and "<script" not in page
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', page))  # self-contained
    assert (tmp_path / "out" / "config.yaml").is_file()


def test_resize_and_frame_cut_follow_the_config(sdsd_tree):
    [src] = clip_sources(DataConfig("sdsd", str(sdsd_tree), sequences=("pairB",), frames=2, size=(24, 16)), print)
    pairs = list(src.read())
    assert src.count == 2 and src.gt == "per_frame" and len(pairs) == 2
    assert pairs[0].low.shape == (16, 24, 3) and pairs[1].gt.shape == (16, 24, 3)
    assert [p.file for p in pairs] == ["00000.npy", "00001.npy"]


def test_npy_channel_order(sdsd_tree):
    def first(order):
        return next(clip_sources(DataConfig("sdsd", str(sdsd_tree), sequences=("pairA",), size=None,
                                            channel_order=order), print)[0].read())
    stored = np.load(sdsd_tree / "input" / "pairA" / "00000.npy")
    assert (first("rgb").low == stored).all()
    assert (first("bgr").low == stored[:, :, ::-1]).all() and (first("bgr").gt == first("rgb").gt[:, :, ::-1]).all()
    assert (first(None).low == stored[:, :, ::-1]).all()  # SDSD default: BGR, like the official loader


def test_smid_scores_every_frame_against_the_single_gt(tmp_path):
    root = tmp_path / "smid"
    gt = texture(32, 40, 7)
    write_npy_sequence(root / "SMID_Long_np" / "0013", [gt])
    write_npy_sequence(root / "SMID_LQ_np" / "0013", [gt, (gt.astype(int) + 10).astype(np.uint8), gt])
    res = evaluate(_cfg(root, kind="smid", sequences=("0013",)))
    assert [f.psnr for f in res.frames] == [math.inf, pytest.approx(PSNR_10), math.inf]
    assert res.sequences[0].flow_source == "output" and res.sequences[0].flicker_gt is None


def test_no_ground_truth_mode_reports_temporal_only(tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(3):  # a static clip: no motion, no flicker
        write_frame(clip / f"frame{i}.png", texture(32, 48, 5))
    res = evaluate(_cfg(clip, kind="none", frames=None))
    assert res.summary.psnr_mean_of_frames is None and res.summary.ssim_mean_of_sequences is None
    assert res.summary.warp_error < 1e-6 and res.summary.flicker == pytest.approx(0.0)


def test_size_mismatch_names_sequence_and_frame(tmp_path):
    for side, shape in (("low", (32, 48)), ("high", (32, 40))):
        (tmp_path / side / "seq1").mkdir(parents=True)
        write_frame(tmp_path / side / "seq1" / "a.png", texture(*shape, 1))
    with pytest.raises(UserInputError, match=r"sequence seq1, frame 0 \(a.png\).*48x32.*40x32"):
        evaluate(_cfg(tmp_path, kind="folders"))


def _official_outputs(model, frames):
    """Frame t through the full pair forward with partner min(t+1, last), as the official test loader pairs them."""
    outs = []
    for t in range(len(frames)):
        x = [torch.nn.functional.pad(torch.from_numpy(frames[i]).permute(2, 0, 1)[None].float() / 255,
                                     (0, 2, 0, 2), mode="reflect") for i in (t, min(t + 1, len(frames) - 1))]
        with torch.no_grad():
            outs.append(model(*x).y1[0, :, :18, :22].permute(1, 2, 0).numpy())
    return outs


@pytest.mark.parametrize("cut", [None, 3])
def test_network_path_equals_official_pairwise_forward(tmp_path, cut):
    """Streaming with encoder reuse changes nothing: frame t's score is that of forward(x_t, x_min(t+1,last)).y1,
    on a size that needs padding (18x22 -> 20x24). As upstream, the cut comes first: with 3 of 4 frames scored,
    frame 2 is paired with itself, not with frame 3."""
    torch.manual_seed(0)
    model = STCD(STCDConfig(width=8, heads=2)).eval()
    save_model(model, tmp_path / "w.safetensors")
    frames = [texture(18, 22, i) for i in range(4)]
    gts = [texture(18, 22, 10 + i) for i in range(4)]
    write_npy_sequence(tmp_path / "d" / "input" / "s", [f[:, :, ::-1] for f in frames])  # stored BGR, as SDSD
    write_npy_sequence(tmp_path / "d" / "GT" / "s", [g[:, :, ::-1] for g in gts])
    cfg = EvalConfig(DataConfig("sdsd", str(tmp_path / "d"), frames=cut, size=None), method="stcd",
                     weights=str(tmp_path / "w.safetensors"), device="cpu", panels=1)
    res = evaluate(cfg)
    n = cut or 4
    expected = [metrics.psnr(float_to_uint8(y), g) for y, g in zip(_official_outputs(model, frames[:n]), gts)]
    assert [f.psnr for f in res.frames] == pytest.approx(expected, abs=1e-6)
    assert len(set(round(e, 3) for e in expected)) == n  # all frames differ, so a pairing slip would show
    assert res.meta.arch == "official" and res.panels[0].images["R"] is not None


def test_network_path_output_factorises():
    torch.manual_seed(0)
    enhancer = Enhancer(model=STCD(STCDConfig(width=8, heads=2)), device="cpu")
    outs = [o for _, o in network_method(enhancer)(enumerate(texture(18, 22, i) for i in range(3)))]
    assert len(outs) == 3 and outs[0].y.shape == (18, 22, 3)
    for o in outs:
        np.testing.assert_allclose(o.r * o.s, o.y, atol=1e-6)


def test_videos_kind_pairs_by_name(tmp_path):
    import av
    frames = [texture(32, 48, i) for i in range(3)]
    for side in ("low", "high"):
        (tmp_path / side).mkdir()
        with av.open(str(tmp_path / side / "clip.mkv"), "w") as c:
            s = c.add_stream("ffv1", rate=10)
            s.width, s.height, s.pix_fmt = 48, 32, "bgr0"
            for f in frames:
                c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="bgr0")))
            c.mux(s.encode())
    res = evaluate(_cfg(tmp_path, kind="videos", frames=None))
    assert res.summary.frames == 3 and res.summary.psnr_mean_of_frames == math.inf  # lossless, GT == input
    assert results_dict(res)["frames"][2]["file"] == "clip.mkv#2"


def test_single_frame_sequence_pairs_with_itself():
    torch.manual_seed(0)
    model = STCD(STCDConfig(width=8, heads=2)).eval()
    frame = texture(16, 20, 0)
    [(_, out)] = network_method(Enhancer(model=model, device="cpu"))([(0, frame)])
    with torch.no_grad():
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255
        np.testing.assert_allclose(out.y, model(x, x).y1[0].permute(1, 2, 0).numpy(), atol=1e-6)


def test_frame_size_change_inside_a_sequence_is_an_error(tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    write_frame(clip / "f0.png", texture(32, 48, 0))
    write_frame(clip / "f1.png", texture(30, 48, 1))
    with pytest.raises(UserInputError, match=r"sequence clip, frame 1 \(f1.png\): size 48x30 differs"):
        evaluate(_cfg(clip, kind="none", frames=None))
    res = evaluate(_cfg(clip, kind="none", frames=None, size=(24, 16)))  # resizing makes it valid
    assert res.summary.frames == 2


def test_negative_panels_rejected():
    from llve.core.config import from_dict
    with pytest.raises(UserInputError, match="panels"):
        from_dict(EvalConfig, {"panels": -1, "data": {"kind": "none", "root": "x"}})
