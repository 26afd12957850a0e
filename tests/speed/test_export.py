"""ONNX export of the streaming step: ONNX Runtime equals PyTorch within 1e-3 at sizes other than the traced one."""
import subprocess
import sys

import pytest
import torch

from llve.errors import UserInputError
from llve.export import OnnxStreamingModel, export_onnx
from llve.models import ARCHITECTURES
from llve.models.weights import save_model

pytest.importorskip("onnxruntime")
from conftest import tiny  # noqa: E402


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_onnxruntime_stream_equals_pytorch(arch, tmp_path):
    model = tiny(arch).eval()
    export_onnx(model, tmp_path / "m.onnx", height=32, width=48)
    ort_model = OnnxStreamingModel(tmp_path / "m.onnx", threads=1)
    assert ort_model.size_multiple == model.size_multiple
    m = model.size_multiple
    frames = [torch.rand(1, 3, 5 * m, 7 * m) for _ in range(3)]  # not the traced size: the graph is size-dynamic
    with torch.no_grad():
        feats = [model.encode(x) for x in frames]
        want = [model.decompose_first(feats[0], feats[1]), model.decompose_first(feats[1], feats[2]),
                model.decompose_first(feats[2], feats[1])]  # the last frame pairs with its predecessor
    cached = [ort_model.encode(x) for x in frames]
    got = [ort_model.decompose_first(cached[0], cached[1]), ort_model.decompose_first(cached[1], cached[2]),
           ort_model.decompose_first(cached[2], cached[1])]
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            assert a.shape == b.shape
            assert (a - b).abs().max() < 1e-3


def test_not_an_llve_export(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"junk")
    with pytest.raises(UserInputError, match="cannot load ONNX"):
        OnnxStreamingModel(tmp_path / "x.onnx")
    with pytest.raises(UserInputError, match="not found"):
        OnnxStreamingModel(tmp_path / "missing.onnx")


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
