"""ONNX Runtime inference for Hugging Face encoders: exported once, fused, optionally int8, cached on disk.

A model directory is exported to ONNX the first time it is used (a few seconds for MiniLM), its attention
and layer-norm blocks are fused by ONNX Runtime's transformer optimizer, and with ``quantize=True`` its
weights are quantised to int8 per output channel (dynamic quantisation: activations are quantised per
batch). The files are cached under ``$VOXLENS_CACHE_DIR/onnx`` (default ``~/.cache/voxlens/onnx``),
keyed by the model's files and the library versions, so later runs and other processes load them directly.

Example:
    >>> from voxlens.sentiment.encoder import default_encoder_path
    >>> encoder = OnnxEncoder.prepare(default_encoder_path(), quantize=True)  # doctest: +SKIP
    >>> hidden = encoder(input_ids, attention_mask)  # doctest: +SKIP
    >>> hidden.shape  # (batch, tokens, hidden size)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import numpy as np

from voxlens.core.errors import ModelError

log = logging.getLogger(__name__)
T = TypeVar("T")

FUSABLE = {"bert", "roberta", "xlm-roberta", "distilbert", "electra", "camembert", "mpnet"}
GELU_OPS = {"Gelu", "BiasGelu", "FastGelu"}
INT8_RECIPE = "int8 per channel, FFN output fp32"   # part of the cache key: a new recipe is quantised again
FUSION = "attention, GELU, layer norm; residual Add + LayerNormalization"   # part of the cache key too
# ONNX Runtime's fused SkipLayerNormalization kernel ran about 5x slower on CPU than its Add +
# LayerNormalization pair (docs/performance.md), so the residual additions stay unfused.
UNFUSED_OPTIMIZERS = ["SkipLayerNormFusion"]


class CorruptGraph(ModelError):
    """A cached ONNX file that ONNX Runtime cannot load (e.g. cut short by a full disk), in ``folder``."""

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(message)
        self.folder = folder


def onnx_available() -> bool:
    """True when ONNX Runtime and the ONNX exporter's dependencies import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def cache_root() -> Path:
    """Where exported models are kept: ``$VOXLENS_CACHE_DIR/onnx`` or ``~/.cache/voxlens/onnx``."""
    base = os.environ.get("VOXLENS_CACHE_DIR") or Path.home() / ".cache" / "voxlens"
    return Path(base) / "onnx"


LOCK_TIMEOUT = 900.0   # seconds to wait for another process exporting the same model


@contextlib.contextmanager
def cache_lock(folder: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold ``folder``'s export lock, so one process exports a model while others wait for its files.

    Raises :class:`ModelError` after ``timeout`` seconds (default :data:`LOCK_TIMEOUT`) instead of waiting
    forever on a lock whose holder hangs."""
    from filelock import FileLock, Timeout

    lock, wait = FileLock(str(folder / ".lock")), LOCK_TIMEOUT if timeout is None else timeout
    try:
        lock.acquire(timeout=wait)
    except Timeout as exc:
        raise ModelError(f"another process has been exporting to {folder} for longer than {wait:.0f} s; "
                         f"if none is running, delete {folder} and try again") from exc
    try:
        yield
    finally:
        lock.release()


def discard_cached(folder: Path) -> None:
    """Delete the graph files cached in ``folder`` (under its lock), so the next use exports them again."""
    with cache_lock(folder):
        for path in [*folder.glob("*.onnx"), *folder.glob("*.onnx.data"), folder / "inputs.json"]:
            path.unlink(missing_ok=True)


def load_or_export_again(load: Callable[[], T]) -> T:
    """``load()``; when a cached graph it reads is damaged (:class:`CorruptGraph`), its folder is emptied and
    ``load()`` runs once more, which exports the graph again."""
    try:
        return load()
    except CorruptGraph as exc:
        log.warning("%s; exporting it again", exc)
        discard_cached(exc.folder)
        return load()


def model_key(model_dir: str | Path, quantize: bool) -> str:
    """A digest of the model's files (names, sizes, modification times) and the exporting libraries."""
    directory = Path(model_dir).resolve()
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    parts = [str(directory), f"quantize={INT8_RECIPE if quantize else False}", FUSION]
    parts += [f"{p.relative_to(directory)}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files]
    parts += [f"{name}={version(name)}" for name in ("torch", "transformers", "onnxruntime", "onnx")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def export_fp32(model_dir: str | Path, target: Path) -> list[str]:
    """Export the encoder's ``last_hidden_state`` to ONNX; returns the model's input names."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    try:  # the plain attention graph is the one ONNX Runtime fuses into its Attention operator
        model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    except (ValueError, TypeError):
        model = AutoModel.from_pretrained(model_dir).eval()
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    sample = tokenizer(["a short text", "a somewhat longer text to export"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(LastHidden(model), tuple(sample[n] for n in names), str(target), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    return names


def fuse(source: Path, target: Path, config) -> bool:
    """Fuse attention, GELU and layer-norm subgraphs (ONNX Runtime's transformer optimizer), leaving each
    residual addition in front of its layer norm (:data:`UNFUSED_OPTIMIZERS`)."""
    if config.model_type not in FUSABLE:
        return False
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    heads = getattr(config, "num_attention_heads", getattr(config, "n_heads", 0))
    hidden = getattr(config, "hidden_size", getattr(config, "dim", 0))
    try:
        optimized = optimizer.optimize_model(str(source), model_type="bert", num_heads=heads, hidden_size=hidden,
                                             optimization_options=options, opt_level=1)
        optimized.save_model_to_file(str(target))
    except Exception as exc:  # the optimizer is pattern-based: an unusual graph is kept unfused
        log.warning("ONNX fusion skipped for %s: %s", source.name, exc)
        return False
    return True




def ffn_output_matmuls(model) -> list[str]:
    """Names of the MatMuls that read a GELU's output (each layer's feed-forward output projection).

    Their inputs have the widest range of the network, so dynamic int8 loses the most there; keeping
    them fp32 keeps int8's macro-F1 cost under half a point (``bench/score_throughput.py``)."""
    gelu_outputs = {out for node in model.graph.node if node.op_type in GELU_OPS for out in node.output}
    return [node.name for node in model.graph.node
            if node.op_type == "MatMul" and any(name in gelu_outputs for name in node.input)]


def quantize_int8(source: Path, target: Path, keep_fp32: list[str] | None = None) -> None:
    """Per-channel dynamic int8 quantisation of the weights of every MatMul/Gemm and attention block,
    except the nodes named in ``keep_fp32`` (default: :func:`ffn_output_matmuls`)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if keep_fp32 is None:
        keep_fp32 = ffn_output_matmuls(onnx.load(str(source), load_external_data=False))
    root = logging.getLogger()
    was = root.disabled
    root.disabled = True  # the quantiser logs a pre-processing hint on the root logger
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8,
                             nodes_to_exclude=list(keep_fp32),
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.disabled = was


def export_fused(model_dir: str | Path, folder: Path, target: Path) -> list[str]:
    """Export ``model_dir`` to ``target`` with its attention fused when the optimizer knows the model."""
    from transformers import AutoConfig

    raw, fused = folder / "raw.onnx", folder / "fused.onnx"
    try:
        names = export_fp32(model_dir, raw)
        (fused if fuse(raw, fused, AutoConfig.from_pretrained(model_dir)) else raw).replace(target)
    finally:
        for scratch in (raw, fused, folder / "raw.onnx.data"):
            scratch.unlink(missing_ok=True)
    return names


def prepare(model_dir: str | Path, quantize: bool = False) -> tuple[Path, list[str]]:
    """The cached ONNX file for ``model_dir`` and its inputs, made on first use: exported and fused, and for
    ``quantize`` the int8 copy of that cached fp32 file (so the model is exported once for both)."""
    folder = cache_root() / model_key(model_dir, quantize)
    final, meta = folder / "model.onnx", folder / "inputs.json"
    folder.mkdir(parents=True, exist_ok=True)
    with cache_lock(folder):
        if final.exists() and meta.exists():
            return final, json.loads(meta.read_text())
        if quantize:
            source, names = prepare(model_dir)
        log.info("%s %s to ONNX (once; cached in %s)", "quantising" if quantize else "exporting", model_dir, folder)
        try:
            if quantize:
                quantize_int8(source, final)
            else:
                names = export_fused(model_dir, folder, final)
        except Exception as exc:
            final.unlink(missing_ok=True)
            raise ModelError(f"cannot export {model_dir} to ONNX: {exc}; use backend='torch'") from exc
        meta.write_text(json.dumps(names))
    return final, names


class OnnxEncoder:
    """Callable ONNX Runtime session: token ids and mask in, ``last_hidden_state`` out (numpy)."""

    def __init__(self, path: Path, input_names: list[str], threads: int | None = None, lean: bool = False) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = int(threads)
        if lean:   # a session that runs a few batches of scattered shapes: no memory arena, no memory plan
            # kept per input shape, no pre-packed copy of the weights
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
            options.add_session_config_entry("session.disable_prepacking", "1")
        # Idle threads sleep instead of spinning: on shared or busy cores spinning threads take the time
        # the working ones need (measured in docs/performance.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                                disabled_optimizers=UNFUSED_OPTIMIZERS)
        except Exception as exc:  # onnxruntime raises its own types for a truncated or corrupt file
            raise CorruptGraph(f"cannot load the ONNX graph {path}: {exc}; delete {Path(path).parent} to export it "
                               "again", Path(path).parent) from exc
        self.input_names = input_names

    @classmethod
    def prepare(cls, model_dir: str | Path, quantize: bool = False, threads: int | None = None) -> "OnnxEncoder":
        return load_or_export_again(lambda: cls(*prepare(model_dir, quantize), threads))

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64),
                "token_type_ids": np.zeros_like(input_ids, dtype=np.int64)}
        return self.session.run(None, {name: feed[name] for name in self.input_names})[0]
