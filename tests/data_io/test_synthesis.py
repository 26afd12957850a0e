"""Low-light synthesis: the statistics follow the documented camera model; outputs are reproducible."""
import dataclasses
import json

import cv2
import numpy as np
import pytest

from llve.cli import main
from llve.core.image import linear_to_srgb, srgb_to_linear
from llve.data.camera import LowLightParams, darken, darken_linear
from llve.data.sequences import folder_sequences
from tests.conftest import synthetic_frames, write_clip


def test_transfer_curves_invert():
    x = np.linspace(0, 1, 101)
    assert np.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-9)


def test_noise_variance_grows_with_signal_as_modelled():
    p = LowLightParams(exposure=1.0, cast=(1.0, 1.0, 1.0), full_well=500.0, read_noise=0.003, seed=0)
    rng = np.random.default_rng(0)
    levels = np.array([0.02, 0.1, 0.3, 0.6])
    variances = [darken_linear(np.full((200, 200, 3), x), p, rng).var() for x in levels]
    expected = levels / p.full_well + p.read_noise**2
    assert np.allclose(variances, expected, rtol=0.05)
    slope = np.polyfit(levels, variances, 1)[0]
    assert slope == pytest.approx(1 / p.full_well, rel=0.05)


def test_exposure_and_cast_scale_linear_light():
    p = LowLightParams(exposure=0.1, cast=(1.2, 1.0, 0.8), full_well=1e7, read_noise=1e-6, seed=0)
    out = darken_linear(np.full((50, 50, 3), 0.5), p, np.random.default_rng(0))
    assert np.allclose(out.mean(axis=(0, 1)), [0.06, 0.05, 0.04], rtol=1e-3)


def test_darkened_frame_is_dark_and_uint8():
    frame = np.full((32, 32, 3), 180, np.uint8)
    p = LowLightParams(exposure=0.05, cast=(1, 1, 1), full_well=1000, read_noise=0.002, seed=0)
    dark = darken(frame, p, np.random.default_rng(0))
    assert dark.dtype == np.uint8 and 20 < dark.mean() < 80


def test_synth_cli_video_and_folder_reproducible(tmp_path):
    clip = write_clip(tmp_path / "clean.mp4", synthetic_frames(6, 24, 32), fps=10)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(synthetic_frames(3, 20, 20, seed=1)):
        np.save(folder / f"{i}.npy", f)
    for out in ("a", "b"):
        assert main(["synth", str(clip), str(folder), "-o", str(tmp_path / out), "--seed", "7",
                     "--max-frames", "4", "--quiet"]) == 0
    seqs = folder_sequences(tmp_path / "a")
    assert [(s.name, len(s.low)) for s in seqs] == [("clean", 4), ("frames", 3)]
    meta = json.loads((tmp_path / "a" / "meta" / "clean.json").read_text())
    assert 1 / 20 <= meta["exposure"] <= 1 / 4 and meta["frames"] == 4
    for name in ("clean", "frames"):
        for i in range(3):
            a = (tmp_path / "a" / "low" / name / f"{i:05d}.png").read_bytes()
            assert a == (tmp_path / "b" / "low" / name / f"{i:05d}.png").read_bytes()


def test_synth_refuses_existing_sequence_and_missing_input(tmp_path, capsys):
    clip = write_clip(tmp_path / "c.mp4", synthetic_frames(2, 16, 16))
    assert main(["synth", str(clip), "-o", str(tmp_path / "o"), "--quiet"]) == 0
    assert main(["synth", str(clip), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "none.mp4"), "-o", str(tmp_path / "o2"), "--quiet"]) == 2


def test_stills_become_moving_clips(tmp_path):
    from llve.media.frames import read_frame, write_frame

    stills = tmp_path / "stills"
    stills.mkdir()
    for i, f in enumerate(synthetic_frames(2, 40, 48, seed=3)):
        write_frame(stills / f"img{i}.png", f)
    assert main(["synth", str(stills), "--stills", "--still-frames", "4", "-o", str(tmp_path / "o"), "--quiet"]) == 0
    seqs = folder_sequences(tmp_path / "o")
    assert [(s.name, len(s.gt)) for s in seqs] == [("img0", 4), ("img1", 4)]
    first, last = read_frame(seqs[0].gt[0]), read_frame(seqs[0].gt[-1])
    assert np.array_equal(first, read_frame(stills / "img0.png"))  # the clip starts at the still
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 1  # and the camera moves


def test_reexpose_keeps_gain_one_and_never_clips_new_pixels():
    from llve.core.image import mean_luma_unit as mean_luma
    from llve.data.camera import reexpose

    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (48, 48, 3)).astype(np.uint8)
    img[0, 0] = 255
    assert np.array_equal(reexpose(img, 1.0), img)
    brighter, darker = reexpose(img, 2.0), reexpose(img, 0.5)
    assert mean_luma(darker) < mean_luma(img) < mean_luma(brighter)
    order = np.argsort(img[..., 1], axis=None)
    assert np.all(np.diff(brighter[..., 1].ravel()[order].astype(int)) >= 0)   # monotone tone curve
    assert brighter.max() == 255 and (brighter == 255).sum() <= (img >= 200).sum()  # only the brightest reach white


def test_camera_extras_add_banding_chroma_and_compression():
    from llve.data.camera import LowLightParams, darken

    flat = np.full((64, 64, 3), 128, np.uint8)
    plain = LowLightParams(exposure=0.2, cast=(1, 1, 1), full_well=1e6, read_noise=1e-5, seed=0)
    banded = LowLightParams(exposure=0.2, cast=(1, 1, 1), full_well=1e6, read_noise=1e-5, seed=0, banding=0.01)
    chroma = LowLightParams(exposure=0.2, cast=(1, 1, 1), full_well=1e6, read_noise=1e-5, seed=0, chroma=0.01)
    a = darken(flat, plain, np.random.default_rng(0)).astype(float)
    b = darken(flat, banded, np.random.default_rng(0)).astype(float)
    c = darken(flat, chroma, np.random.default_rng(0)).astype(float)
    assert b.mean(axis=(1, 2)).std() > 5 * a.mean(axis=(1, 2)).std() + 0.1       # rows differ
    assert (c[..., 0] - c[..., 2]).std() > 5 * (a[..., 0] - a[..., 2]).std() + 0.1  # colour noise
    jpeg = LowLightParams(exposure=0.2, cast=(1, 1, 1), full_well=300, read_noise=0.003, seed=0, jpeg_quality=30)
    raw = LowLightParams(exposure=0.2, cast=(1, 1, 1), full_well=300, read_noise=0.003, seed=0)
    j = darken(flat, jpeg, np.random.default_rng(0)).astype(float)
    r = darken(flat, raw, np.random.default_rng(0)).astype(float)
    assert np.abs(np.diff(j, axis=1)).mean() < np.abs(np.diff(r, axis=1)).mean()   # compression smooths noise


def test_tone_curve_crushes_shadows_and_is_an_s_curve():
    from llve.data.camera import tone_curve

    y = np.linspace(0, 1, 101)
    toned = tone_curve(y, black_level=0.03, contrast=1.4)
    assert np.all(np.diff(toned) >= 0) and toned[0] == 0 and toned[-1] == pytest.approx(1)
    assert np.all(toned[y <= 0.03] == 0)                    # the black level crushes the deepest shadows
    mid = tone_curve(np.array([0.25, 0.5, 0.75]), 0.0, 1.4)
    assert mid[0] < 0.25 and mid[1] == pytest.approx(0.5) and mid[2] > 0.75
    assert np.array_equal(tone_curve(y, 0.0, 1.0), y)       # the neutral curve changes nothing


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_codec_round_trip_is_a_real_lossy_video_encode_of_the_whole_sequence(codec):
    import av

    from llve.data.camera import codec_round_trip
    from llve.evaluate.metrics import psnr

    if {"h264": "libx264", "hevc": "libx265"}[codec] not in av.codecs_available:
        pytest.skip(f"no {codec} encoder in this PyAV build")
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 60, (12, 16, 3)).astype(np.uint8), (65, 47), interpolation=cv2.INTER_LINEAR)
    frames = [np.roll(base, 2 * i, axis=1) for i in range(5)]
    out = codec_round_trip(frames, codec, crf=30)
    assert len(out) == 5 and all(o.shape == f.shape and o.dtype == np.uint8 for o, f in zip(out, frames))
    assert not any(np.array_equal(o, f) for o, f in zip(out, frames))  # lossy
    assert all(psnr(o, f) > 25 for o, f in zip(out, frames))          # but the same pictures


def test_an_encoder_that_refuses_the_frames_falls_back_to_jpeg_blocks(monkeypatch):
    import av

    from llve.data import camera

    def refuse(frames, codec, crf):
        raise av.error.ArgumentError(22, "refused")

    monkeypatch.setattr(camera, "codec_round_trip", refuse)
    p = LowLightParams(exposure=0.2, cast=(1, 1, 1), full_well=1e9, read_noise=0.0, seed=0, codec="hevc", crf=30)
    clean = np.random.default_rng(0).integers(0, 255, (32, 48, 3)).astype(np.uint8)
    out = camera.darken_frames([clean, clean], p, np.random.default_rng(0))
    plain = camera.darken_frames([clean], dataclasses.replace(p, codec=""), np.random.default_rng(0))[0]
    assert len(out) == 2 and out[0].shape == clean.shape and not np.array_equal(out[0], plain)  # compressed
