"""The ONNX Runtime backend: same vectors as PyTorch, int8 close to them, exported once and cached."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from voxlens.sentiment import onnx_backend
from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.scorers import HeadScorer
from voxlens.core.errors import ModelError

TEXTS = ["the parcel came late", "great service", "the app crashed the app crashed the parcel came late",
         "great service"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("VOXLENS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def operators(path: Path) -> Counter:
    import onnx

    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def test_onnx_vectors_equal_torch_vectors(tiny_encoder_dir: Path):
    on_onnx = Encoder(str(tiny_encoder_dir), batch_size=2, backend="onnx")
    on_torch = Encoder(str(tiny_encoder_dir), batch_size=2, backend="torch")
    np.testing.assert_allclose(on_onnx.encode(TEXTS), on_torch.encode(TEXTS), atol=1e-5)
    assert on_onnx.backend_ == "onnx" and on_torch.backend_ == "torch"


def test_export_fuses_attention_and_int8_quantises_it(tiny_encoder_dir: Path):
    fp32, _ = onnx_backend.prepare(tiny_encoder_dir)
    int8, _ = onnx_backend.prepare(tiny_encoder_dir, quantize=True)
    assert operators(fp32)["Attention"] == 2                      # one fused operator per layer
    assert operators(int8)["QAttention"] == 2 and operators(int8)["MatMulInteger"] > 0
    assert int8.stat().st_size < fp32.stat().st_size


def test_residual_additions_stay_in_front_of_their_layer_norms_in_the_file_and_the_session(tiny_encoder_dir: Path,
                                                                                           tmp_path: Path, monkeypatch):
    import onnxruntime as ort

    loaded = tmp_path / "loaded.onnx"

    class Recorded(ort.SessionOptions):       # the session writes the graph it runs, after its own fusions
        def __init__(self):
            super().__init__()
            self.optimized_model_filepath = str(loaded)

    monkeypatch.setattr(ort, "SessionOptions", Recorded)
    for quantize in (False, True):
        path, names = onnx_backend.prepare(tiny_encoder_dir, quantize=quantize)
        assert operators(path)["SkipLayerNormalization"] == 0
        assert operators(path)["LayerNormalization"] == 4              # two a layer
        onnx_backend.OnnxEncoder(path, names)
        assert operators(loaded)["SkipLayerNormalization"] == 0 and operators(loaded)["LayerNormalization"] == 4


def test_int8_keeps_each_feed_forward_output_in_fp32(tiny_encoder_dir: Path):
    import onnx

    fp32, _ = onnx_backend.prepare(tiny_encoder_dir)
    kept = onnx_backend.ffn_output_matmuls(onnx.load(str(fp32)))
    assert len(kept) == 2 and all("output/dense" in name and "attention" not in name for name in kept)
    int8, _ = onnx_backend.prepare(tiny_encoder_dir, quantize=True)
    names = {node.name for node in onnx.load(str(int8)).graph.node if node.op_type == "MatMul"}
    assert set(kept) <= names                                   # still fp32 MatMuls
    assert operators(int8)["MatMulInteger"] == 4                # per layer the attention output and FFN input


def test_int8_vectors_stay_close(tiny_encoder_dir: Path):
    exact = Encoder(str(tiny_encoder_dir), backend="torch").encode(TEXTS)
    approx = Encoder(str(tiny_encoder_dir), backend="onnx", quantize=True).encode(TEXTS)
    assert ((exact * approx).sum(axis=1) > 0.95).all()


def test_export_happens_once_and_is_reused(tiny_encoder_dir: Path, own_cache: Path, monkeypatch):
    exports = []
    original = onnx_backend.export_fp32
    monkeypatch.setattr(onnx_backend, "export_fp32", lambda *a: exports.append(a) or original(*a))
    first = Encoder(str(tiny_encoder_dir)).encode(TEXTS)
    second = Encoder(str(tiny_encoder_dir)).encode(TEXTS)
    np.testing.assert_array_equal(first, second)
    assert len(exports) == 1
    assert len(list(own_cache.glob("onnx/*/model.onnx"))) == 1


def test_int8_is_made_from_the_cached_fp32_export(tiny_encoder_dir: Path, monkeypatch):
    exports = []
    original = onnx_backend.export_fp32
    monkeypatch.setattr(onnx_backend, "export_fp32", lambda *a: exports.append(a) or original(*a))
    Encoder(str(tiny_encoder_dir)).encode(TEXTS)
    Encoder(str(tiny_encoder_dir), quantize=True).encode(TEXTS)
    assert len(exports) == 1


def test_changed_weights_are_exported_again(tiny_encoder_dir: Path):
    before = onnx_backend.model_key(tiny_encoder_dir, quantize=False)
    (tiny_encoder_dir / "config.json").write_text((tiny_encoder_dir / "config.json").read_text() + "\n")
    assert onnx_backend.model_key(tiny_encoder_dir, quantize=False) != before
    assert onnx_backend.model_key(tiny_encoder_dir, quantize=True) != before


def test_backend_errors_say_what_to_do(tiny_encoder_dir: Path):
    with pytest.raises(ModelError, match="use one of auto, onnx, torch"):
        Encoder(str(tiny_encoder_dir), backend="tensorrt").encode(TEXTS)
    with pytest.raises(ModelError, match="local model directory"):
        Encoder(str(tiny_encoder_dir / "missing"), backend="onnx").encode(TEXTS)


def test_a_failed_export_falls_back_to_torch_under_auto(tiny_encoder_dir: Path, monkeypatch, caplog):
    def broken(*_):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx_backend, "export_fp32", broken)
    with pytest.raises(ModelError, match="backend='torch'"):
        Encoder(str(tiny_encoder_dir), backend="onnx").encode(TEXTS)
    encoder = Encoder(str(tiny_encoder_dir))
    assert encoder.encode(TEXTS).shape == (4, 32)
    assert encoder.backend_ == "torch" and "unsupported operator" in caplog.text


def test_quantised_scores_are_stored_under_their_own_model_name():
    assert HeadScorer(quantize=True).name == HeadScorer().name + "+int8"


def test_int8_configs_name_their_runtime_because_their_vectors_differ(tiny_encoder_dir: Path):
    onnx_int8 = Encoder(str(tiny_encoder_dir), quantize=True, backend="onnx")
    torch_int8 = Encoder(str(tiny_encoder_dir), quantize=True, backend="torch")

    assert onnx_int8.config()["int8_runtime"] == "onnx" and torch_int8.config()["int8_runtime"] == "torch"
    assert Encoder(str(tiny_encoder_dir), backend="onnx").config() == Encoder(str(tiny_encoder_dir),
                                                                             backend="torch").config()
    assert not np.allclose(onnx_int8.encode(TEXTS), torch_int8.encode(TEXTS), atol=1e-4)


def test_a_failed_int8_export_is_recorded_as_torch_in_the_config(tiny_encoder_dir: Path, monkeypatch):
    def broken(*_):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx_backend, "export_fp32", broken)
    encoder = Encoder(str(tiny_encoder_dir), quantize=True)
    assert encoder.config()["int8_runtime"] == "onnx"
    encoder.encode(TEXTS)
    assert encoder.config()["int8_runtime"] == "torch"
