"""Which layers must stay fp32 for int8 to cost at most half a macro-F1 point? Recipes side by side.

Each recipe quantises the default encoder's fused ONNX export to int8 per output channel (dynamic
quantisation) except the nodes it keeps in fp32; the default sentiment model then scores every review and
``--tweets`` tweets of :mod:`bench.real_feedback` through it. Printed: macro-F1 per set, its change
against fp32, and the encoding time of the evaluation (untimed elsewhere; a rough speed signal).

Run:
    python -m bench.int8_recipes
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def recipes(model) -> dict[str, list[str] | None]:
    """Recipe name → the MatMul/Attention nodes kept in fp32 (None: no quantisation at all)."""
    from voxlens.sentiment.onnx_backend import ffn_output_matmuls

    nodes = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Attention")]
    last = max(int(n.split("layer.")[1].split("/")[0]) for n in nodes if "layer." in n)
    ffn = ffn_output_matmuls(model)
    return {
        "fp32 (no int8)": None,
        "int8 everywhere": [],
        "int8 but the last layer": [n for n in nodes if f"layer.{last}/" in n or n == f"Attention_{last}"],
        "int8 but attention": [n for n in nodes if n.startswith("Attention")],
        "int8 but FFN outputs (default)": ffn,
        "int8 but FFN outputs, first layer": ffn + [n for n in nodes if "layer.0/" in n or n == "Attention_0"],
    }


def main(argv: list[str] | None = None) -> None:
    import onnx
    import onnxruntime as ort

    from voxlens.sentiment import onnx_backend
    from voxlens.sentiment.encoder import default_encoder_path
    from voxlens.sentiment.model import SentimentModel

    from bench.real_feedback import load_sets
    from bench.score_throughput import COLUMNS, macro_f1

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=3000)
    parser.add_argument("--reviews", type=int, default=0, help="reviews to score (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sets = load_sets()
    sets["tweets"] = sets["tweets"].sample(n=args.tweets, random_state=args.seed)
    if args.reviews:
        sets["reviews"] = sets["reviews"].sample(n=args.reviews, random_state=args.seed)
    fp32_path, _ = onnx_backend.prepare(default_encoder_path())
    scores, work = {}, Path(tempfile.mkdtemp(prefix="int8-recipes-"))
    print(f"{'recipe':<36} {'F1 reviews':>10} {'Δ':>6} {'F1 tweets':>10} {'Δ':>6} {'seconds':>8}")
    for name, keep in recipes(onnx.load(str(fp32_path))).items():
        model = SentimentModel(quantize=False, progress=False)   # the fp32 encoder; recipes replace its session
        scorer = model._scorer(None)
        scorer._load()
        scorer.encoder_._load()
        if keep is not None:
            target = work / f"{len(scores)}.onnx"
            onnx_backend.quantize_int8(fp32_path, target, keep_fp32=keep)
            options = ort.SessionOptions()
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            scorer.encoder_.model_.session = ort.InferenceSession(str(target), options,
                                                                  providers=["CPUExecutionProvider"])
        started = time.perf_counter()
        scores[name] = [macro_f1(data["label"].to_numpy(),
                                 model.predict(data["text"].tolist(), langs=["en"] * len(data))[COLUMNS].to_numpy())
                        for data in sets.values()]
        seconds = time.perf_counter() - started
        base = scores["fp32 (no int8)"]
        (reviews, tweets) = scores[name]
        print(f"{name:<36} {reviews:10.2f} {reviews - base[0]:+6.2f} {tweets:10.2f} {tweets - base[1]:+6.2f} "
              f"{seconds:8.0f}", flush=True)


if __name__ == "__main__":
    main()
