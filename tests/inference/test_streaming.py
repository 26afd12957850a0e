"""The streaming enhancer computes exactly the official pairing, encodes each frame once, and pads any size."""
import copy

import numpy as np
import pytest
import torch

from llve.core.errors import UserInputError
from llve.core.image import tensor_to_uint8 as to_uint8
from llve.models import build_model
from llve.run.enhancer import Enhancer
from llve.stream.options import StreamOptions
from llve.stream.pipeline import to_tensor
from tests.conftest import synthetic_frames


@pytest.fixture
def model():
    torch.manual_seed(1)
    return build_model("official", width=8).eval()


def test_pairing_matches_pairwise_forward(model):
    frames = synthetic_frames(4, 24, 32)
    got = list(Enhancer(model=model, device="cpu").decompose_frames(frames))
    assert len(got) == 4
    partners = [1, 2, 3, 3]  # frame t with t+1, the last with itself
    for t, p in enumerate(partners):
        with torch.no_grad():
            ref = model(to_tensor(frames[t], torch.device("cpu")), to_tensor(frames[p], torch.device("cpu")))
        assert np.array_equal(got[t].y, to_uint8(ref.y1))
        assert np.array_equal(got[t].r, to_uint8(ref.r1))
        assert np.array_equal(got[t].s, to_uint8(ref.s1))


def test_to_tensor_divides_by_255_as_torch_does_in_any_memory_layout():
    rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    rgb[0, :3] = [0, 255, 128]
    for frame in (rgb, rgb[:, ::2], np.asfortranarray(rgb)):
        x = to_tensor(frame, torch.device("cpu"))
        expected = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float() / 255
        assert x.shape == expected.shape and x.dtype == torch.float32 and torch.equal(x, expected)
        assert x.is_contiguous(memory_format=torch.channels_last)


def test_each_frame_encoded_once(model, monkeypatch):
    calls = []
    original = model.encode
    monkeypatch.setattr(model, "encode", lambda x: calls.append(1) or original(x))
    list(Enhancer(model=model, device="cpu").enhance_frames(synthetic_frames(5, 16, 16)))
    assert len(calls) == 5


def test_is_lazy(model):
    """A generator input is consumed one frame ahead at most: nothing holds the whole video."""
    pulled = []

    def frames():
        for i, f in enumerate(synthetic_frames(6, 16, 16)):
            pulled.append(i)
            yield f

    out = Enhancer(model=model, device="cpu").enhance_frames(frames())
    next(out)
    assert pulled == [0, 1]


@pytest.mark.parametrize("size", [(17, 23), (3, 5), (1, 1)])
def test_any_frame_size(model, size):
    frames = synthetic_frames(2, *size)
    out = list(Enhancer(model=model, device="cpu").enhance_frames(frames))
    assert [o.shape for o in out] == [(*size, 3)] * 2 and all(o.dtype == np.uint8 for o in out)


def test_size_change_mid_stream_is_an_error(model):
    frames = synthetic_frames(2, 16, 16) + synthetic_frames(1, 16, 20)
    with pytest.raises(UserInputError, match="frame 2 has size 20x16"):
        list(Enhancer(model=model, device="cpu").enhance_frames(frames))


def test_device_errors(model):
    if not torch.cuda.is_available():
        with pytest.raises(UserInputError, match="no CUDA GPU"):
            Enhancer(model=model, device="cuda")
    with pytest.raises(UserInputError, match="unknown device"):
        Enhancer(model=model, device="tpu9")


def test_fp16_on_cpu_falls_back_with_warning(model, capsys):
    enhancer = Enhancer(model=model, device="cpu", options=StreamOptions(precision="fp16"))
    assert enhancer.fp16 is False and "float32" in capsys.readouterr().err


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fp16_close_to_cpu(model):
    frames = synthetic_frames(3, 32, 32)
    cpu = list(Enhancer(model=model, device="cpu").enhance_frames(frames))
    half = StreamOptions(precision="fp16")
    gpu = list(Enhancer(model=copy.deepcopy(model), device="cuda", options=half).enhance_frames(frames))
    assert max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(cpu, gpu)) <= 3


def test_self_pairing_is_frame_by_frame(model):
    frames = synthetic_frames(3, 16, 24)
    got = list(Enhancer(model=model, device="cpu", options=StreamOptions(pairing="self")).enhance_frames(frames))
    cpu = torch.device("cpu")
    for frame, out in zip(frames, got):
        with torch.no_grad():
            ref = model(to_tensor(frame, cpu), to_tensor(frame, cpu))
        assert np.array_equal(out, to_uint8(ref.y1))
    nxt = list(Enhancer(model=model, device="cpu").enhance_frames(frames))
    assert not np.array_equal(nxt[0], got[0])  # the partner matters
    with pytest.raises(UserInputError, match="unknown pairing"):
        Enhancer(model=model, device="cpu", options=StreamOptions(pairing="previous"))


def test_a_frame_is_monochrome_only_if_no_pixel_has_colour():
    """A grid of every 8th pixel settles most frames; one coloured pixel off that grid still makes a frame colour."""
    from llve.stream.stages import GREY_TOLERANCE, is_monochrome

    frame = np.full((64, 96, 3), 40, np.uint8)
    frame[::3, ::5, 0] += GREY_TOLERANCE  # a codec's rounding
    assert is_monochrome(frame)
    frame[13, 29, 2] += GREY_TOLERANCE + 1
    assert not is_monochrome(frame)
    frame[:, :, 1] += 9
    assert not is_monochrome(frame)
