"""CPU inference helpers shared by every transformer path: int8 quantisation, batching, de-duplication.

Example:
    >>> unique, inverse = unique_texts(["ok", "bad", "ok"])
    >>> unique, inverse.tolist()
    (['ok', 'bad'], [0, 1, 0])
    >>> [batch.tolist() for batch in length_batches([3, 40, 5, 38], batch_size=2)]
    [[1, 3], [2, 0]]
    >>> [batch.tolist() for batch in length_batches([3, 40, 5, 38], batch_size=4, min_fill=0.8)]
    [[1, 3], [2], [0]]
"""

from __future__ import annotations

import warnings
from typing import Any, Iterator, Sequence

import numpy as np


def unique_texts(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts in first-seen order, and for each input the index of its distinct text."""
    index: dict[str, int] = {}
    inverse = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    return list(index), inverse


SCORING_MIN_FILL = 0.8
"""``min_fill`` of the inference paths: each padded row is at least 80% real tokens (docs/performance.md)."""


def length_batches(lengths: Sequence[int], batch_size: int = 64, max_batch_tokens: int | None = None,
                   min_fill: float | None = None) -> Iterator[np.ndarray]:
    """Indices of texts grouped by similar token length, longest first, so padding is minimal.

    A batch holds at most ``batch_size`` texts and, when ``max_batch_tokens`` is set, grows past
    ``batch_size`` for short texts as long as ``texts × longest length`` stays within that budget. With
    ``min_fill``, a batch also ends before the first text shorter than ``min_fill`` × its longest: a few
    texts of scattered lengths then go in several small batches instead of one mostly padded batch.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    start = 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        size = batch_size
        if max_batch_tokens:
            size = max(batch_size, max_batch_tokens // longest) if longest * batch_size <= max_batch_tokens \
                else max(1, max_batch_tokens // longest)
        if min_fill:
            candidates = lengths[order[start:start + size]]
            size = max(1, int(np.count_nonzero(candidates >= min_fill * longest)))
        yield order[start:start + size]
        start += size


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantisation of every ``torch.nn.Linear`` (weights int8 per tensor, activations quantised
    per batch): the PyTorch backend's int8. ONNX Runtime's per-channel int8
    (:func:`voxlens.sentiment.onnx_backend.quantize_int8`) stays closer to fp32; this one is what the default head's
    training perturbs its vectors with, so it is kept as it is.

    Returns a new model; the input model is unchanged. On CPU this roughly halves transformer encoder time.
    """
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=False)


_THREADS: list[int | None] = [None]


def set_threads(threads: int | None) -> None:
    """Use ``threads`` intra-op threads in torch and in ONNX Runtime sessions created afterwards
    (None keeps the current setting; by default one per core)."""
    if threads:
        import torch

        torch.set_num_threads(int(threads))
        _THREADS[0] = int(threads)


def intra_op_threads() -> int | None:
    """The thread count last given to :func:`set_threads` (None: the runtime's default)."""
    return _THREADS[0]
