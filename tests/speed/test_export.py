"""ONNX export of the streaming step: ONNX Runtime equals PyTorch within 1e-3 at sizes other than the traced one,
and the streaming enhancer runs an exported file unchanged."""
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from llve.core.errors import UserInputError
from llve.models import ARCHITECTURES
from llve.models.weights import save_model
from llve.run.enhancer import Enhancer
from llve.stream.options import StreamOptions
from tests.conftest import synthetic_frames
from tests.conftest import tiny_model as tiny

pytest.importorskip("onnx")  # before llve.run.export, which needs the ONNX extras: a skip, not a collection error
pytest.importorskip("onnxruntime")
from llve.run.export import OnnxStreamingModel, export_onnx, onnx_runtime_model  # noqa: E402

pytestmark = pytest.mark.slow  # end-to-end: subprocesses, encoders, servers


@pytest.fixture(scope="module")
def fast_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "fast.onnx"
    return export_onnx(tiny("fast").eval(), path, height=32, width=48)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_onnxruntime_stream_equals_pytorch(arch, fast_onnx):
    model = tiny(arch).eval()
    # The fast network goes through a file from the default (dynamo) exporter; the others through the on-the-fly
    # export of --backend onnxruntime with the quicker torchscript exporter: each path is tested once.
    if arch == "fast":
        ort_model = OnnxStreamingModel(fast_onnx, threads=1)
    else:
        ort_model = onnx_runtime_model(model, exporter="torchscript")
    # A guided network's graph is its fast network's step, wrapped in its shrink and upsampling (whole frames here).
    assert ort_model.size_multiple == model.size_multiple and ort_model.arch == arch
    m = model.size_multiple
    frames = [torch.rand(1, 3, 5 * m, 7 * m) for _ in range(3)]  # not the traced size nor batch: dynamic axes
    with torch.no_grad():
        feats = [model.encode(x) for x in frames]
        want = [model.decompose_first(feats[0], feats[1]), model.decompose_first(feats[1], feats[2]),
                model.decompose_first(feats[2], feats[2])]  # the last frame pairs with itself
    cached = [ort_model.encode(x) for x in frames]
    got = [ort_model.decompose_first(cached[0], cached[1]), ort_model.decompose_first(cached[1], cached[2]),
           ort_model.decompose_first(cached[2], cached[2])]
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            assert a.shape == b.shape
            assert (a - b).abs().max() < 1e-3


def test_enhancer_runs_an_onnx_file_like_the_network(fast_onnx):
    frames = synthetic_frames(3, 30, 44)  # odd size: the enhancer pads for ONNX Runtime as for PyTorch
    ours = list(Enhancer(weights=fast_onnx, device="cpu").enhance_frames(frames))
    reference = list(Enhancer(model=tiny("fast"), device="cpu").enhance_frames(frames))
    assert len(ours) == 3
    for a, b in zip(ours, reference):
        assert a.shape == (30, 44, 3) and np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_not_an_llve_export(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"junk")
    with pytest.raises(UserInputError, match="cannot load ONNX"):
        OnnxStreamingModel(tmp_path / "x.onnx")
    with pytest.raises(UserInputError, match="not found"):
        OnnxStreamingModel(tmp_path / "missing.onnx")
    with pytest.raises(UserInputError, match="unknown exporter"):
        export_onnx(tiny("fast"), tmp_path / "y.onnx", exporter="magic")
    assert not (tmp_path / "y.onnx").exists()


def test_cli_export_refuses_mismatch_and_overwrite(tmp_path):
    save_model(tiny("fast"), tmp_path / "w.safetensors")
    (tmp_path / "exists.onnx").write_bytes(b"keep me")
    run = [sys.executable, "-m", "llve", "export"]
    r = subprocess.run(run + ["--onnx", str(tmp_path / "exists.onnx")], capture_output=True, text=True)
    assert r.returncode == 2 and "output exists" in r.stderr
    assert (tmp_path / "exists.onnx").read_bytes() == b"keep me"
    r = subprocess.run(run + ["--onnx", str(tmp_path / "o.onnx"), "--model", "official",
                              "--weights", str(tmp_path / "w.safetensors")], capture_output=True, text=True)
    assert r.returncode == 2 and "holds a 'fast' network" in r.stderr and "Traceback" not in r.stderr


def test_onnxruntime_keeps_the_bundled_weights_exposure_control_and_noise_filters():
    frames = [np.clip(f.astype(int) - 10, 0, 255).astype(np.uint8) for f in synthetic_frames(4, 48, 64)]
    torch_enhancer, onnx_enhancer = Enhancer(device="cpu"), Enhancer(device="cpu", backend="onnxruntime")
    assert onnx_enhancer.exposure_control and onnx_enhancer.filters == torch_enhancer.filters == (True, True)
    assert onnx_enhancer.describe() == torch_enhancer.describe()
    for exposure in ("auto", 0.3):
        a = list(Enhancer(device="cpu", options=StreamOptions(exposure=exposure)).enhance_frames(frames)) \
            if exposure != "auto" else list(torch_enhancer.enhance_frames(frames))
        onnx_enhancer.options = dataclasses.replace(onnx_enhancer.options, exposure=exposure)
        b = list(onnx_enhancer.enhance_frames(frames))
        diff = [np.abs(x.astype(int) - y.astype(int)) for x, y in zip(a, b)]
        assert max(d.max() for d in diff) <= 1 and np.mean([d.mean() for d in diff]) < 0.05


def test_an_exported_guided_network_keeps_its_shrink_and_guided_upsampling(tmp_path):
    """The graph is the low-resolution step; the file's settings bring back the shrink and the upsampling, so frames
    the network shrinks (408 pixels and up for the bundled weights) come out as PyTorch's, not at full resolution."""
    from llve.models.guided import GuidedAround
    from llve.models.weights import load_model
    from llve.run.enhancer import DEFAULT_WEIGHTS

    path = export_onnx(load_model(DEFAULT_WEIGHTS), tmp_path / "default.onnx", exporter="torchscript")
    frames = [np.clip(f.astype(int) // 3, 0, 255).astype(np.uint8) for f in synthetic_frames(3, 416, 480)]
    onnx_enhancer = Enhancer(weights=path, device="cpu")
    assert isinstance(onnx_enhancer.model, GuidedAround)
    assert onnx_enhancer.model.guided.low_size(416, 480) != (416, 480)
    a = list(Enhancer(device="cpu").enhance_frames(frames))
    b = list(onnx_enhancer.enhance_frames(frames))
    diff = [np.abs(x.astype(int) - y.astype(int)) for x, y in zip(a, b)]
    assert max(d.max() for d in diff) <= 2 and np.mean([d.mean() for d in diff]) < 0.05
