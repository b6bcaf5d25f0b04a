"""Activation smoothing before dynamic int8 (the ``"smoothed"`` int8 recipe of the branch model).

Dynamic int8 quantises each MatMul's input per batch with one scale, so a few input channels with large
values coarsen the steps of all the others. Smoothing (as in SmoothQuant) divides each such channel by
``s = max(range / median range, 1) ** alpha`` in front of the MatMul (or attention block) and multiplies the
matching weight row by ``s``: the fp32 function is unchanged and int8 sees flatter inputs. The ranges (the
largest absolute value of each input channel) are measured once on training texts and shipped beside the
weights (``int8_ranges.npz``), keyed by :func:`node_key`, names that come from the model's layers rather
than from one export.

Example:
    >>> scales(np.array([1.0, 2.0, 8.0]), alpha=1.0).tolist()
    [1.0, 1.0, 4.0]
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

RANGES_FILE = "int8_ranges.npz"
ALPHA_FFN_OUTPUT = 1.0     # chosen on training texts by the mean change of the probabilities (docs/performance.md)
ALPHA_OTHER = 0.5


def weighted_inputs(model) -> list:
    """The MatMul and Attention nodes whose weight is an initializer (the ones int8 quantises)."""
    weights = {init.name for init in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type in ("MatMul", "Attention") and n.input[1] in weights]


def is_ffn_output(name: str) -> bool:
    return name.endswith("/output/dense/MatMul") and "attention" not in name


def node_key(node, model) -> str:
    """A quantised node's name in the model's own terms: a MatMul's name (``/branch.0/output/dense/MatMul``),
    or, for a fused attention block, its layer's (``/branch.0/attention/qkv``), found from the projection it feeds."""
    if node.op_type != "Attention":
        return node.name
    for consumer in model.graph.node:
        if node.output[0] in consumer.input and consumer.name.endswith("/attention/output/dense/MatMul"):
            return consumer.name.removesuffix("/output/dense/MatMul") + "/qkv"
    return node.name


def scales(ranges: np.ndarray, alpha: float) -> np.ndarray:
    """Per-channel divisors: channels wider than the median are brought toward it (``alpha`` 1: to it)."""
    ranges = np.asarray(ranges, dtype=np.float64)
    spread = ranges / max(float(np.median(ranges)), 1e-12)
    return (np.maximum(spread, 1.0) ** alpha).astype(np.float32)


def channel_ranges(path: str | Path, texts: Sequence[str], tokenizer, max_length: int = 256) -> dict[str, np.ndarray]:
    """The largest absolute value of each input channel of every quantised node of the graph at ``path``,
    over the tokens of ``texts``, keyed by :func:`node_key`."""
    import onnx
    import onnxruntime as ort

    from voxlens.sentiment.encoder import pad_batch
    from voxlens.sentiment.runtime import length_batches

    model = onnx.load(str(path))
    nodes = weighted_inputs(model)
    names = sorted({node.input[0] for node in nodes})
    model.graph.output.extend([onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = tokenizer(list(texts), truncation=True, max_length=max_length, return_attention_mask=False)["input_ids"]
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    largest = {name: np.zeros(1, dtype=np.float32) for name in names}
    for batch in length_batches(lengths, 64, 2048):
        input_ids, mask = pad_batch([ids[i] for i in batch], lengths[batch], tokenizer.pad_token_id or 0)
        for name, values in zip(names, session.run(names, {"input_ids": input_ids, "attention_mask": mask})):
            largest[name] = np.maximum(largest[name], np.abs(values[mask.astype(bool)]).max(axis=0))
    return {node_key(node, model): largest[node.input[0]] for node in nodes}


def smooth(source: str | Path, target: str | Path, ranges: dict[str, np.ndarray], only: str = "",
           alpha: float = ALPHA_FFN_OUTPUT, alpha_other: float = ALPHA_OTHER) -> int:
    """Write ``source`` with the inputs of its quantised nodes (those whose key is in ``ranges`` and contains
    ``only``) divided by their channel scales and the weight rows multiplied by them; returns how many."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    weights = {init.name: init for init in model.graph.initializer}
    chosen = {node.name: key for node in weighted_inputs(model)
              if (key := node_key(node, model)) in ranges and only in key}
    nodes = []
    for node in model.graph.node:
        if node.name in chosen:
            key = chosen[node.name]
            scale = scales(ranges[key], alpha if is_ffn_output(key) else alpha_other)
            weight = numpy_helper.to_array(weights[node.input[1]])
            model.graph.initializer.extend([
                numpy_helper.from_array((weight * scale[:, None]).astype(np.float32), f"{key}/smoothed_weight"),
                numpy_helper.from_array(1 / scale, f"{key}/smoothing")])
            nodes.append(onnx.helper.make_node("Mul", [node.input[0], f"{key}/smoothing"], [f"{key}/smoothed_input"],
                                               name=f"{key}/Smooth"))
            node.input[0], node.input[1] = f"{key}/smoothed_input", f"{key}/smoothed_weight"
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    onnx.save(model, str(target))
    return len(chosen)


def read_ranges(branch_dir: str | Path) -> dict[str, np.ndarray] | None:
    """The artefact's shipped channel ranges, or None when it has none."""
    path = Path(branch_dir) / RANGES_FILE
    if not path.exists():
        return None
    with np.load(path) as arrays:
        return {str(key): arrays[f"range_{i}"] for i, key in enumerate(arrays["keys"])}


def write_ranges(branch_dir: str | Path, ranges: dict[str, np.ndarray]) -> Path:
    """Store ``ranges`` beside the weights (node keys hold slashes, so they are stored as a list)."""
    path = Path(branch_dir) / RANGES_FILE
    keys = sorted(ranges)
    np.savez(path, keys=np.array(keys), **{f"range_{i}": np.asarray(ranges[k], np.float32) for i, k in enumerate(keys)})
    return path
