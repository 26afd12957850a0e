"""Training datasets on small synthetic trees of the real layouts: item contract, pair sampling, channel order,
augmentation of flows, exact motion correspondences, cache reuse across epochs, paired videos."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from llve.core.errors import UserInputError
from llve.data.datasets import Pair, PairDataset, SamplingConfig, TrainBatch, TrainItem, augment, collate
from llve.data.motion import MotionConfig, random_motion
from llve.data.sources import SourceConfig
from llve.flow import build_backend
from llve.flow.cache import CorrespondenceCache
from llve.flow.warp import warp, warp_np

H, W = 32, 48


def _texture(h, w, seed):
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (3, 3), 0)


def make_sdsd(root: Path, seqs=("pair1", "pair2", "pair3"), frames=4):
    """SDSD layout; low frame t is flat with value 10 * (t + 1) in channel 0 (stored order), so tests can read t."""
    big = _texture(H + 16, W + 16, 0)
    for s, name in enumerate(seqs):
        for side in ("input", "GT"):
            (root / side / name).mkdir(parents=True)
        for t in range(frames):
            low = np.zeros((H, W, 3), np.uint8)
            low[..., 0] = 10 * (t + 1)
            low[..., 2] = 200 + s
            gt = np.ascontiguousarray(big[8:8 + H, 8 + t:8 + t + W])  # camera pans one pixel per frame
            np.save(root / "input" / name / f"{t:03d}.npy", low)
            np.save(root / "GT" / name / f"{t:03d}.npy", gt)
    return root


def counting_cache(root):
    calls = []

    def backend(a, b):
        calls.append(1)
        return build_backend()(a, b)

    backend.name = "counting"
    return CorrespondenceCache(backend, root), calls


def _frame_index(item_low):  # channel 2 after the BGR->RGB swap holds 10 * (t + 1)
    return round(item_low[2].mean().item() * 255 / 10) - 1


def test_sdsd_item_contract_split_channel_order_and_partner_radius(tmp_path):
    root = make_sdsd(tmp_path / "sdsd")
    cache, _ = counting_cache(tmp_path / "corr")
    src = SourceConfig(kind="sdsd", root=str(root), test=("pair2",))
    ds = PairDataset([src], SamplingConfig(), cache, seed=3)
    assert len(ds) == 8  # pair1 and pair3, 4 frames each
    item = ds[0]
    for k in ("low1", "low2", "gt1", "gt2"):
        assert getattr(item, k).shape == (3, H, W) and getattr(item, k).dtype == torch.float32
        assert 0 <= getattr(item, k).min() and getattr(item, k).max() <= 1
    for k in ("flow12", "flow21"):
        assert getattr(item, k).shape == (2, H, W) and getattr(item, k).dtype == torch.float32
    for k in ("cert1", "cert2"):
        assert getattr(item, k).shape == (1, H, W) and 0 <= getattr(item, k).min() and getattr(item, k).max() <= 1
    assert item.seq == "pair1" and item.index == 0
    # Stored channel 0 (BGR blue) arrives as RGB channel 2, as in the official loader.
    assert item.low1[0].mean().item() == pytest.approx((200) / 255, abs=1e-6)
    partners = {}
    for epoch in range(12):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            it = ds[i]
            t1, t2 = _frame_index(it.low1), _frame_index(it.low2)
            assert t1 == i % 4 and abs(t2 - t1) <= 1
            partners.setdefault(t1, set()).add(t2)
    assert partners[1] == {0, 1, 2} and partners[0] == {0, 1} and partners[3] == {2, 3}
    val = PairDataset([src], SamplingConfig(), cache, split="test")
    assert len(val) == 4 and {val[i].seq for i in range(4)} == {"pair2"}


def test_items_depend_only_on_seed_epoch_and_index(tmp_path):
    root = make_sdsd(tmp_path / "sdsd")
    cache, _ = counting_cache(tmp_path / "corr")
    cfg = SamplingConfig(crop=(24, 24), transpose=True)
    a = PairDataset([SourceConfig(kind="sdsd", root=str(root))], cfg, cache, seed=5)
    b = PairDataset([SourceConfig(kind="sdsd", root=str(root))], cfg, cache, seed=5)
    a.set_epoch(2), b.set_epoch(2)
    _ = b[7]  # drawing another item first must not change item 3
    for k in ("low1", "gt2", "flow12", "cert2"):
        assert torch.equal(getattr(a[3], k), getattr(b[3], k))
    a.set_epoch(3)
    assert not all(torch.equal(a[i].gt1, b[i].gt1) for i in range(len(a)))


def test_correspondences_are_cached_so_epoch_two_computes_nothing(tmp_path):
    root = make_sdsd(tmp_path / "sdsd")
    cache, calls = counting_cache(tmp_path / "corr")
    ds = PairDataset([SourceConfig(kind="sdsd", root=str(root))], SamplingConfig(radius=1), cache, seed=0)

    def run_epoch(epoch):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            ds[i]
        return len(calls)

    first = run_epoch(0)
    assert first > 0
    assert run_epoch(0) == first  # the same draws again: everything comes from the cache
    for epoch in range(1, 12):
        total = run_epoch(epoch)
    assert total == 3 * 3  # each of the 3 x 3 distinct neighbour pairs computed exactly once, in any direction
    assert len(list((tmp_path / "corr").rglob("*.npz"))) == 9


def test_crop_keeps_flows_and_drops_certainty_leaving_the_window(tmp_path):
    root = make_sdsd(tmp_path / "sdsd", seqs=("a",), frames=2)
    cache, _ = counting_cache(None)
    exact = SamplingConfig(hflip=False, vflip=False, radius=0)
    full = PairDataset([SourceConfig(kind="sdsd", root=str(root), test=("a",))], exact, cache, split="test")
    crop = PairDataset([SourceConfig(kind="sdsd", root=str(root), test=("a",))], SamplingConfig(crop=(24, 16)), cache,
                       split="test")
    f, c = full[0], crop[0]
    x0, y0 = (W - 24) // 2, (H - 16) // 2
    assert torch.equal(c.gt1, f.gt1[:, y0:y0 + 16, x0:x0 + 24])
    assert torch.equal(c.flow12, f.flow12[:, y0:y0 + 16, x0:x0 + 24])
    # The camera pans by one pixel: the GT content moves left; pixels at the crop's left edge leave the window.
    assert (c.cert1[..., :, 0] == 0).all()


def _consistency_error(item):
    """Mean |gt1 - warp(gt2, flow12)| where cert1 = 1 (values in [0, 1])."""
    w = warp(item.gt2[None], item.flow12[None])[0]
    mask = (item.cert1 > 0.99).expand_as(w)
    return (w - item.gt1).abs()[mask].mean().item(), mask.float().mean().item()


@pytest.mark.parametrize("hflip,vflip,transpose", [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)])
def test_augmentation_transforms_flow_vectors_with_the_images(hflip, vflip, transpose):
    gt = _texture(80, 100, 1)
    m = random_motion(gt // 4, gt, (60, 40), MotionConfig(flow=1.5), np.random.default_rng(7))
    pair = Pair(low1=m.low1, low2=m.low2, gt1=m.gt1, gt2=m.gt2, **m.corr._asdict())
    out = augment(pair, bool(hflip), bool(vflip), bool(transpose))
    assert out.gt1.shape == ((60, 40, 3) if transpose else (40, 60, 3))
    for a, b, flow, cert in (("gt1", "gt2", "flow12", "cert1"), ("gt2", "gt1", "flow21", "cert2")):
        a, b, flow, cert = (getattr(out, name) for name in (a, b, flow, cert))
        warped = warp_np(b.astype(np.float32), flow)
        mask = cert > 0.99
        err = np.abs(warped - a)[mask].mean()
        unaligned = np.abs(b.astype(np.float32) - a)[mask].mean()
        assert mask.mean() > 0.5 and err < 0.15 * unaligned, (err, unaligned)
    if hflip and not transpose:
        np.testing.assert_allclose(out.flow12[:, ::-1, 0], -pair.flow12[..., 0], atol=1e-6)


def test_static_image_pairs_become_frame_pairs_with_exact_correspondences(tmp_path):
    for side in ("low", "high"):
        (tmp_path / "lol" / side).mkdir(parents=True)
    for k in range(3):
        gt = _texture(48, 64, k)
        cv2.imwrite(str(tmp_path / "lol" / "high" / f"{k}.png"), gt)
        cv2.imwrite(str(tmp_path / "lol" / "low" / f"{k}.png"), gt // 8)
    src = SourceConfig(kind="images", root=str(tmp_path / "lol"), test=("2",))
    cache, calls = counting_cache(tmp_path / "corr")
    ds = PairDataset([src], SamplingConfig(crop=(40, 40), transpose=True), cache, seed=1)
    assert len(ds) == 2
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            err, coverage = _consistency_error(item)
            assert item.gt1.shape == item.low1.shape
            assert coverage > 0.5 and err < 0.02, (err, coverage)
            # low and high frames moved identically: their ratio is preserved pixel by pixel
            assert (item.low2 * 255 - torch.floor(item.gt2 * 255 / 8)).abs().max() <= 1.01
    assert calls == []  # the motion is known: no correspondence backend needed
    val = PairDataset([src], SamplingConfig(crop=(40, 32)), cache, split="test")
    assert len(val) == 1 and torch.equal(val[0].gt2, val[0].gt2)


def test_mismatched_frame_counts_are_named_and_refused(tmp_path):
    root = make_sdsd(tmp_path / "sdsd", seqs=("good", "bad"))
    (root / "GT" / "bad" / "003.npy").unlink()
    cache, _ = counting_cache(None)
    with pytest.raises(UserInputError, match=r"bad \(4 low vs 3 ground-truth"):
        PairDataset([SourceConfig(kind="sdsd", root=str(root))], SamplingConfig(), cache)


def test_smid_single_ground_truth_uses_identity_correspondences(tmp_path):
    root = tmp_path / "smid"
    for seq in ("0001", "0013"):
        (root / "SMID_LQ_np" / seq).mkdir(parents=True)
        (root / "SMID_Long_np" / seq).mkdir(parents=True)
        np.save(root / "SMID_Long_np" / seq / "0000.npy", _texture(H, W, 3))
        for t in range(3):
            np.save(root / "SMID_LQ_np" / seq / f"{t:04d}.npy", np.full((H, W, 3), 5 * t, np.uint8))
    cache, calls = counting_cache(None)
    ds = PairDataset([SourceConfig(kind="smid", root=str(root), test=("0013",))], SamplingConfig(), cache)
    assert len(ds) == 3
    item = collate([ds[0], ds[1]])
    assert item.gt1.shape == (2, 3, H, W) and item.seq == ["0001", "0001"]
    assert torch.equal(item.gt1, item.gt2) and (item.flow12 == 0).all() and (item.cert1 == 1).all()
    assert calls == []


def test_collate_makes_a_typed_batch_that_moves_to_a_device_as_one():
    def item(i):
        image, flow, cert = torch.full((3, H, W), i / 10), torch.full((2, H, W), float(i)), torch.ones(1, H, W)
        return TrainItem(image, image, image, image, flow, -flow, cert, cert, torch.tensor(0.1 * i),
                         torch.tensor(0.2 * i), seq=f"s{i}", index=i)

    batch = collate([item(1), item(2), item(3)])
    assert isinstance(batch, TrainBatch) and batch.seq == ["s1", "s2", "s3"] and batch.index.tolist() == [1, 2, 3]
    assert batch.low1.shape == (3, 3, H, W) and batch.flow21[1, 0, 0, 0] == -2 and batch.exposure2.shape == (3,)
    moved = batch.to("meta")  # a device every torch build has; every tensor goes, the names stay
    assert all(t.device.type == "meta" for t in vars(moved).values() if torch.is_tensor(t))
    assert moved.seq == batch.seq and batch.low1.device.type == "cpu"


def _write_video(path: Path, frames):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "bgr0"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_paired_videos_are_decoded_once_into_the_cache(tmp_path):
    big = _texture(H + 8, W + 8, 2)
    gts = [np.ascontiguousarray(big[4:4 + H, t:t + W]) for t in range(3)]
    for side, frames in (("low", [g // 6 for g in gts]), ("high", gts)):
        (tmp_path / "vid" / side).mkdir(parents=True)
        _write_video(tmp_path / "vid" / side / "clip.mkv", frames)
    src = SourceConfig(kind="videos", root=str(tmp_path / "vid"))
    cache, _ = counting_cache(None)
    ds = PairDataset([src], SamplingConfig(hflip=False, vflip=False), cache, cache_root=tmp_path / "cache")
    assert len(ds) == 3
    decoded = sorted((tmp_path / "cache").rglob("*.png"))
    assert len(decoded) == 6
    stamp = decoded[0].stat().st_mtime_ns
    PairDataset([src], SamplingConfig(), cache, cache_root=tmp_path / "cache")
    assert decoded[0].stat().st_mtime_ns == stamp  # not decoded again
    item = ds[1]
    assert item.seq == "clip" and item.gt1.shape == (3, H, W)
    assert (item.gt1 * 255 - torch.from_numpy(gts[1]).permute(2, 0, 1)).abs().max() <= 1.01  # lossless


def test_an_unreadable_video_is_a_clean_error_and_leaves_no_partial_cache(tmp_path):
    for side in ("low", "high"):
        (tmp_path / "vid" / side).mkdir(parents=True)
        (tmp_path / "vid" / side / "clip.mp4").write_bytes(b"not a video at all")
    cache, _ = counting_cache(None)
    with pytest.raises(UserInputError, match="clip.mp4"):
        PairDataset([SourceConfig(kind="videos", root=str(tmp_path / "vid"))], SamplingConfig(), cache,
                    cache_root=tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.png"))


def _stacks(root: Path, names=("s1", "s2", "s3")) -> Path:
    for i, name in enumerate(names):
        (root / name).mkdir(parents=True)
        ref = _texture(40, 40, i)
        cv2.imwrite(str(root / name / "reference.png"), ref[:, :, ::-1])
        cv2.imwrite(str(root / name / "dark1.png"), (ref // 8)[:, :, ::-1])
        cv2.imwrite(str(root / name / "dark2.png"), (ref // 4)[:, :, ::-1])
    return root


def test_stacks_split_by_stack_and_items_carry_their_targets_exposure(tmp_path):
    src = SourceConfig(kind="stacks", root=str(_stacks(tmp_path / "sice")), test=("s3",))
    sampling = SamplingConfig(crop=(32, 32), motion=MotionConfig(flow=1.0))
    corr = CorrespondenceCache(build_backend(), None)
    train = PairDataset([src], sampling, corr, split="train", cache_root=tmp_path)
    test = PairDataset([src], sampling, corr, split="test", cache_root=tmp_path)
    assert len(train) == 4 and len(test) == 2                        # (stack, shot) pairs, split by stack
    assert {e[1][0].split("/")[0] for e in train.entries} == {"s1", "s2"}
    item = train[0]
    luma = (item.gt1 * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0).mean()
    assert abs(float(item.exposure1) - float(luma)) < 2e-3       # the target is the ground truth's own mean
    assert item.low1.mean() < item.gt1.mean()


def test_synthesised_sources_make_new_dark_frames_and_reexposure_moves_the_target(tmp_path):
    root = tmp_path / "clean"
    (root / "imgs").mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(root / "imgs" / f"{i}.png"), _texture(48, 48, i)[:, :, ::-1])
    src = SourceConfig(kind="images", root=str(root), low="imgs", high="imgs", synthesize=True)
    corr = CorrespondenceCache(build_backend(), None)
    plain = PairDataset([src], SamplingConfig(crop=(32, 32)), corr, cache_root=tmp_path)
    item = plain[0]
    assert item.low1.mean() < 0.7 * item.gt1.mean()            # darkened anew, not the clean image
    plain.set_epoch(1)
    assert not torch.equal(plain[0].low1, item.low1)             # a new camera and new noise each epoch
    bright = PairDataset([src], SamplingConfig(crop=(32, 32), reexpose=(3.0, 3.0), reexpose_prob=1.0), corr,
                         cache_root=tmp_path)
    assert float(bright[0].exposure1) > float(item.exposure1) + 0.05
