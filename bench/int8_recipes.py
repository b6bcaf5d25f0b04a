"""Which layers must stay fp32 for int8 to cost at most half a macro-F1 point? Recipes side by side.

Each recipe quantises the default model's fused fp32 ONNX graph to int8 per output channel (dynamic
quantisation) except the nodes it keeps in fp32; the default sentiment model then scores the reviews and
``--tweets`` tweets of :mod:`bench.real_feedback` through it. For the branch model (the default when
``models/sentiment_branch/`` is installed, or ``--branch DIR``) the graph is its ``sentiment`` graph (trunk
layers ``layer.N``, branch layers ``branch.N``) and the reviews are the clothing reviews' test split (the
rest may be its training data); for the frozen-MiniLM head (v3) it is the encoder and every review.
Printed: macro-F1 per set, its change against fp32, and the scoring time of the evaluation (a rough speed
signal on shared cores). A branch model's card chooses its recipe with ``"int8_recipe"`` (``"ffn"``, the
default, or ``"ffn+last-branch-layer"``). ``--torch`` adds the branch model's torch path, used without ONNX
Runtime: its graphs in fp32 and with torch's int8 (per tensor, every linear layer).

Run:
    python -m bench.int8_recipes
    python -m bench.int8_recipes --branch /path/to/sentiment_branch --tweets 1000
    python -m bench.int8_recipes --torch --tweets 500 --reviews 500
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def layer_nodes(nodes: list[str], prefix: str, index: int, attention: int) -> list[str]:
    """The MatMul nodes of layer ``prefix.index`` and its fused attention node ``Attention_{attention}``."""
    return [n for n in nodes if f"/{prefix}.{index}/" in n or n == f"Attention_{attention}"]


def recipes(model) -> dict[str, list[str] | None]:
    """Recipe name → the MatMul/Attention nodes kept in fp32 (None: no quantisation at all)."""
    from voxlens.sentiment.branch_runtime import kept_fp32
    from voxlens.sentiment.onnx_backend import ffn_output_matmuls

    nodes = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Attention")]
    trunk = sorted({int(n.split("layer.")[1].split("/")[0]) for n in nodes if "layer." in n})
    branch = sorted({int(n.split("branch.")[1].split("/")[0]) for n in nodes if "branch." in n})
    ffn = ffn_output_matmuls(model)
    out = {
        "fp32 (no int8)": None,
        "int8 everywhere": [],
        "int8 but attention": [n for n in nodes if n.startswith("Attention")],
        "int8 but FFN outputs (default)": ffn,
        "int8 but FFN outputs, first layer": ffn + layer_nodes(nodes, "layer", 0, 0),
    }
    if branch:
        kept = [n for i, layer in enumerate(branch) for n in layer_nodes(nodes, "branch", layer, len(trunk) + i)]
        out["int8 but FFN outputs and the branch"] = sorted(set(ffn + kept))
        out["int8 but FFN outputs, last branch layer"] = kept_fp32(model, "ffn+last-branch-layer")
    else:
        out["int8 but the last layer"] = layer_nodes(nodes, "layer", trunk[-1], trunk[-1])
    return out


def evaluation_sets(branch: bool, tweets: int, reviews: int, seed: int) -> dict:
    from bench.real_feedback import load_sets

    sets = load_sets()
    if branch:
        from voxlens.models.review_data import load_review_set, split_of

        clothing = load_review_set("clothing")
        sets["reviews"] = clothing[clothing["text"].map(split_of) == "test"]
    sets["tweets"] = sets["tweets"].sample(n=min(tweets, len(sets["tweets"])), random_state=seed)
    if reviews:
        sets["reviews"] = sets["reviews"].sample(n=min(reviews, len(sets["reviews"])), random_state=seed)
    return {"reviews": sets["reviews"], "tweets": sets["tweets"]}


def main(argv: list[str] | None = None) -> None:
    import onnx

    from voxlens.sentiment import onnx_backend
    from voxlens.sentiment.encoder import default_encoder_path
    from voxlens.sentiment.model import SentimentModel
    from voxlens.sentiment.scorers import BranchScorer, default_branch_dir, is_branch_dir

    from bench.score_throughput import COLUMNS, macro_f1

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=3000)
    parser.add_argument("--reviews", type=int, default=0, help="reviews to score (0: all of the set)")
    parser.add_argument("--branch", type=Path, default=None, help="a branch model (default: the installed one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch", action="store_true", help="also the branch model's torch path, fp32 and int8")
    args = parser.parse_args(argv)

    branch_dir = args.branch or (default_branch_dir() if is_branch_dir(default_branch_dir()) else None)
    routes = {"en": str(branch_dir) if branch_dir else "default"}
    sets = evaluation_sets(branch_dir is not None, args.tweets, args.reviews, args.seed)
    if branch_dir is not None:
        from voxlens.sentiment.branch_runtime import prepare_graphs

        fp32_path = prepare_graphs(branch_dir, quantize=False)["sentiment"]
    else:
        fp32_path, _ = onnx_backend.prepare(default_encoder_path())
    scores, work = {}, Path(tempfile.mkdtemp(prefix="int8-recipes-"))
    print(f"model: {SentimentModel(routes=routes, quantize=False).name}; reviews {len(sets['reviews'])}, "
          f"tweets {len(sets['tweets'])}")
    print(f"{'recipe':<40} {'F1 reviews':>10} {'Δ':>6} {'F1 tweets':>10} {'Δ':>6} {'seconds':>8}")
    runs = {name: ("onnx", keep) for name, keep in recipes(onnx.load(str(fp32_path))).items()}
    if args.torch and branch_dir is not None:
        runs.update({"torch fp32": ("torch", False), "torch int8 (per tensor)": ("torch", True)})
    for name, (runtime, keep) in runs.items():
        # fp32: the ONNX rows replace its sentiment graph, the torch rows run its torch path
        model = SentimentModel(routes=routes, quantize=False, progress=False)
        scorer = model._scorer(routes["en"] if branch_dir else None)
        scorer._load()
        if runtime == "torch":
            scorer.encoder_.backend = "torch"
        scorer.encoder_._load()
        if runtime == "torch" and keep:      # the torch path runs fp32 unless asked for its int8
            scorer.encoder_.sessions_ = scorer.encoder_._torch_sessions(quantize=True)
        if runtime == "onnx" and keep is not None:
            target = work / f"{len(scores)}.onnx"
            onnx_backend.quantize_int8(fp32_path, target, keep_fp32=keep)
            session = onnx_backend.OnnxEncoder(target, ["input_ids", "attention_mask"]).session   # as voxlens loads it
            if isinstance(scorer, BranchScorer):
                scorer.encoder_.sessions_["sentiment"] = lambda ids, mask, s=session: s.run(
                    None, {"input_ids": ids, "attention_mask": mask})
            else:
                scorer.encoder_.model_.session = session
        started = time.perf_counter()
        scores[name] = [macro_f1(data["label"].to_numpy(),
                                 model.predict(data["text"].tolist(), langs=["en"] * len(data))[COLUMNS].to_numpy())
                        for data in sets.values()]
        seconds = time.perf_counter() - started
        base = scores["fp32 (no int8)"]
        (reviews, tweets) = scores[name]
        print(f"{name:<40} {reviews:10.2f} {reviews - base[0]:+6.2f} {tweets:10.2f} {tweets - base[1]:+6.2f} "
              f"{seconds:8.0f}", flush=True)


if __name__ == "__main__":
    main()
