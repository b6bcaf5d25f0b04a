"""Activation smoothing before int8: does it let every weight of the branch model run int8 within budget?

Dynamic int8 quantises each MatMul's input per batch with one scale, so a few input channels with large
values (the attention blocks' layer-norm outputs reach 12–14× the median channel's range, the GELU outputs
6–13×) coarsen the steps of all the others. Smoothing (as in SmoothQuant) divides each such channel by
``s = max(range / median range, 1) ** alpha`` in front of the MatMul and multiplies the matching weight row
by ``s``: the fp32 result is unchanged (checked here), and int8 sees flatter inputs. The ranges come from
the training domains' *training* texts; the comparison is on their validation texts, as
``python -m voxlens.models.int8_recipe`` chooses recipes (evaluation sets are not read).

Printed: macro-F1 per validation domain, the cost against fp32 (mean, worst), the mean absolute change of
the probabilities, and the seconds to score, for fp32, the shipped recipe, every weight int8, and
smoothing with ``--alpha`` on the feed-forward outputs and ``--alpha-other`` on the other inputs.

Run (a few minutes on CPU):
    python -m bench.int8_smoothing
    python -m bench.int8_smoothing --alpha 0.5 --alpha-other 0.5
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

COLUMNS = ["p_negative", "p_neutral", "p_positive"]


def weighted_inputs(model) -> list:
    """The MatMul and Attention nodes whose weight is an initializer (the ones int8 quantises)."""
    weights = {init.name for init in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type in ("MatMul", "Attention") and n.input[1] in weights]


def is_ffn_output(node) -> bool:
    return node.name.endswith("/output/dense/MatMul") and "attention" not in node.name


def channel_ranges(path: Path, texts: list[str], tokenizer) -> dict[str, np.ndarray]:
    """The largest absolute value of each input channel of every quantised node, over the texts' tokens."""
    import onnx
    import onnxruntime as ort

    from voxlens.sentiment.encoder import pad_batch
    from voxlens.sentiment.runtime import length_batches

    model = onnx.load(str(path))
    names = sorted({node.input[0] for node in weighted_inputs(model)})
    model.graph.output.extend([onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = tokenizer(texts, truncation=True, max_length=256, return_attention_mask=False)["input_ids"]
    lengths = np.fromiter(map(len, ids), dtype=np.int64)
    ranges = {name: np.zeros(1, dtype=np.float32) for name in names}
    for batch in length_batches(lengths, 64, 2048):
        input_ids, mask = pad_batch([ids[i] for i in batch], lengths[batch], tokenizer.pad_token_id or 0)
        for name, values in zip(names, session.run(names, {"input_ids": input_ids, "attention_mask": mask})):
            ranges[name] = np.maximum(ranges[name], np.abs(values[mask.astype(bool)]).max(axis=0))
    return ranges


def smooth(source: Path, target: Path, ranges: dict[str, np.ndarray], alpha: float, alpha_other: float) -> None:
    """Write ``source`` with each quantised node's input divided by its channel scales and the weight
    rows multiplied by them (the fp32 function is unchanged)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    weights = {init.name: init for init in model.graph.initializer}
    smoothed = {node.name for node in weighted_inputs(model)}
    nodes = []
    for node in model.graph.node:
        if node.name in smoothed:
            spread = ranges[node.input[0]] / np.median(ranges[node.input[0]])
            scale = (np.maximum(spread, 1.0) ** (alpha if is_ffn_output(node) else alpha_other)).astype(np.float32)
            weight = numpy_helper.to_array(weights[node.input[1]])
            model.graph.initializer.extend([
                numpy_helper.from_array(weight * scale[:, None], f"{node.name}/smoothed_weight"),
                numpy_helper.from_array(1 / scale, f"{node.name}/smoothing")])
            nodes.append(onnx.helper.make_node("Mul", [node.input[0], f"{node.name}/smoothing"],
                                               [f"{node.name}/smoothed_input"], name=f"{node.name}/Smooth"))
            node.input[0], node.input[1] = f"{node.name}/smoothed_input", f"{node.name}/smoothed_weight"
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    onnx.save(model, str(target))


def largest_difference(first: Path, second: Path, tokenizer) -> float:
    import onnxruntime as ort

    batch = tokenizer(["the parcel came late and the courier was rude", "great app"], padding=True,
                      return_tensors="np", return_token_type_ids=False)
    feed = {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": batch["attention_mask"].astype(np.int64)}
    outputs = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feed)[0] for p in (first, second)]
    return float(np.abs(outputs[0] - outputs[1]).max())


def main(argv: list[str] | None = None) -> None:
    import onnx
    from transformers import AutoTokenizer

    from voxlens.models.branch_data import load_domains, review_domains, without_neutral
    from voxlens.models.int8_recipe import domain_f1, validation_texts
    from voxlens.models.train_branch import capped
    from voxlens.models.train_sentiment import TRAINING_SOURCES
    from voxlens.sentiment import SentimentModel, branch_runtime
    from voxlens.sentiment.encoder import resolve_model_path
    from voxlens.sentiment.onnx_backend import quantize_int8
    from voxlens.sentiment.scorers import LABELS, default_branch_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha", type=float, default=1.0, help="smoothing strength on the feed-forward outputs")
    parser.add_argument("--alpha-other", type=float, default=0.5, help="on every other quantised input")
    parser.add_argument("--calibration", type=int, default=150, help="training texts per domain for the ranges")
    parser.add_argument("--per-domain", type=int, default=600, help="validation texts per domain")
    args = parser.parse_args(argv)

    branch = default_branch_dir()
    card = json.loads((branch / "card.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(None))
    data = without_neutral(load_domains(TRAINING_SOURCES, review_domains()),
                           card.get("training", {}).get("neutral_left_out_of", []))
    calibration = capped(data[data["split"] == "train"].sample(frac=1, random_state=5), args.calibration)
    fp32 = branch_runtime.prepare_graphs(branch, None, quantize=False)["sentiment"]
    frame = validation_texts(card, args.per_domain)
    texts = frame["text"].tolist()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        smoothed = scratch / "smoothed.onnx"
        smooth(fp32, smoothed, channel_ranges(fp32, calibration["text"].tolist(), tokenizer), args.alpha,
               args.alpha_other)
        print(f"{len(calibration)} training texts set the ranges; smoothed fp32 graph differs from fp32 by "
              f"{largest_difference(fp32, smoothed, tokenizer):.1e}")
        keep = branch_runtime.kept_fp32(onnx.load(str(fp32)), card.get("int8_recipe", "ffn"))
        variants = {"fp32": fp32}
        for name, source, kept in [(f"shipped ({card.get('int8_recipe', 'ffn')})", fp32, keep), ("all", fp32, []),
                                   (f"smoothed {args.alpha}/{args.alpha_other}, all", smoothed, [])]:
            variants[name] = scratch / f"{len(variants)}.onnx"
            quantize_int8(source, variants[name], keep_fp32=kept)
        scores, seconds, change = {}, {}, {}
        for name, path in variants.items():
            with mock.patch.object(branch_runtime, "prepare_graphs", lambda *_, _p=path, **__: {"sentiment": _p, "shared": _p}):
                model = SentimentModel(quantize=name != "fp32", long_text_chars=400, progress=False)
                model.predict(texts[:8], langs=["en"] * 8)
                started = time.perf_counter()
                probs = model.predict(texts, langs=["en"] * len(texts))[COLUMNS].to_numpy()
                seconds[name] = time.perf_counter() - started
            reference = probs if name == "fp32" else reference
            change[name] = float(np.abs(probs - reference).mean())
            scores[name] = domain_f1(frame, np.array(LABELS)[probs.argmax(axis=1)])
    table = pd.DataFrame(scores).T
    costs = table.loc["fp32"] - table
    print(f"{len(texts)} validation texts; macro-F1 per domain (points), the cost against fp32, mean |Δp|, seconds")
    print(table.round(2).assign(**{"mean cost": costs.mean(axis=1).round(2), "worst cost": costs.max(axis=1).round(2),
                                   "mean |Δp|": [round(change[n], 4) for n in table.index],
                                   "seconds": [round(seconds[n], 1) for n in table.index]}).to_string())


if __name__ == "__main__":
    main()
