"""Choose the int8 recipe of a branch sentiment model on the training domains' validation texts.

Each recipe of :data:`voxlens.sentiment.branch_runtime.INT8_RECIPES` keeps a different set of nodes in fp32
(``smoothed``: none, after activation smoothing, ``all``: none, ``last-branch-layer``: the last branch layer,
``ffn``: each feed-forward output, ``ffn+last-branch-layer``: both). ``smoothed`` reads the input channel
ranges measured here on the training domains' *training* texts (written to the artefact's
``int8_ranges.npz``). ``all`` and ``smoothed`` are also tried with an fp32 margin (:data:`FP32_MARGINS`): a
text whose int8 probabilities (a long text's, folded over its pieces) put two classes closer than the margin is
scored again by the fp32 graph.
The validation texts that chose the model's checkpoint (at most ``--per-domain`` a domain) are scored through
the fp32 graphs and through each candidate, as ``SentimentModel`` scores them; the chosen candidate is
the first, in the order of :func:`candidates` (the most int8 first), whose macro-F1 cost against fp32 is at
most ``--budget`` points on every domain, at its margin and at every larger one (:func:`choose`). It is written
to the card's ``int8_recipe`` and ``int8_fp32_margin``, and the ranges beside it. Evaluation sets are never read here.

Run (a few minutes on CPU, after ``train_branch``):
    python -m voxlens.models.int8_recipe                  # models/sentiment_branch/
    python -m voxlens.models.int8_recipe --dry-run        # print the table, leave the card as it is
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd


FP32_MARGINS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


# the recipes that make every weight int8, in the order they are tried: ``smoothed`` first, since it moves the
# probabilities of a piece about half as far from fp32's as ``all`` (``python -m bench.int8_segments``)
EVERY_WEIGHT_INT8 = ("smoothed", "all")


def candidates() -> list[tuple[str, str, float]]:
    """(label, int8 recipe, fp32 margin) in the order they are tried: the recipes that make every weight int8
    first (:data:`EVERY_WEIGHT_INT8`), each alone and then with growing fp32 margins, then those that keep
    weights in fp32.

    Example:
        >>> [label for label, _, _ in candidates()][:3]
        ['smoothed', 'smoothed, fp32 below margin 0.02', 'smoothed, fp32 below margin 0.05']
    """
    from voxlens.sentiment.branch_runtime import INT8_RECIPES

    found = []
    for recipe in (*EVERY_WEIGHT_INT8, *(r for r in INT8_RECIPES if r not in EVERY_WEIGHT_INT8)):
        margins = (0.0, *FP32_MARGINS) if recipe in EVERY_WEIGHT_INT8 else (0.0,)
        found += [(f"{recipe}, fp32 below margin {m}" if m else recipe, recipe, m) for m in margins]
    return found


def choose(costs: pd.DataFrame, budget: float, recipes: Mapping[str, str] | None = None) -> str | None:
    """The first candidate (row order) whose cost is at most ``budget`` on every domain (columns, in points)
    and stays so at each later row of the same recipe (``recipes`` maps a row to its recipe; rows of one
    recipe come in growing fp32 margins); None when none is.

    A larger margin re-scores more segments in fp32, so its cost should only fall; requiring every larger
    margin to pass keeps a margin that passed by chance on a few hundred texts a domain from being chosen.

    Example:
        >>> costs = pd.DataFrame({"a": [1.2, 0.3, 0.9, 0.1], "b": [0.2, 0.4, 0.3, 0.3]},
        ...                      index=["all", "all, 0.1", "all, 0.2", "ffn"])
        >>> choose(costs, 0.5, {"all, 0.1": "all", "all, 0.2": "all"})
        'ffn'
        >>> choose(costs, 0.5)
        'all, 0.1'
    """
    recipes = recipes or {}
    passes = costs.max(axis=1) <= budget
    for position, label in enumerate(costs.index):
        recipe = recipes.get(label, label)
        larger = [later for later in costs.index[position:] if recipes.get(later, later) == recipe]
        if passes[larger].all():
            return str(label)
    return None


def training_domains(card: dict) -> pd.DataFrame:
    """The training domains' texts as the model's training read them (``text``, ``label``, ``domain``, ``split``)."""
    from voxlens.models.branch_data import load_domains, review_domains, without_neutral
    from voxlens.models.train_sentiment import TRAINING_SOURCES

    return without_neutral(load_domains(TRAINING_SOURCES, review_domains()),
                           card.get("training", {}).get("neutral_left_out_of", []))


def validation_texts(card: dict, per_domain: int) -> pd.DataFrame:
    """The training domains' validation texts as training capped them (``text``, ``label``, ``domain``)."""
    from voxlens.models.train_branch import capped

    data = training_domains(card)
    return capped(data[data["split"] == "validation"], per_domain).reset_index(drop=True)


def calibration_ranges(branch: Path, card: dict, per_domain: int = 150, seed: int = 5) -> dict[str, np.ndarray]:
    """Input channel ranges of the fp32 sentiment graph over the training domains' *training* texts (at most
    ``per_domain`` a domain, shuffled with ``seed``), for the ``smoothed`` recipe."""
    from transformers import AutoTokenizer

    from voxlens.models.train_branch import capped
    from voxlens.sentiment.branch_runtime import prepare_graphs
    from voxlens.sentiment.encoder import resolve_model_path
    from voxlens.sentiment.int8_smoothing import channel_ranges

    data = training_domains(card)
    texts = capped(data[data["split"] == "train"].sample(frac=1, random_state=seed), per_domain)["text"].tolist()
    graph = prepare_graphs(branch, None, quantize=False)["sentiment"]
    return channel_ranges(graph, texts, AutoTokenizer.from_pretrained(resolve_model_path(None)),
                          max_length=int(card.get("max_tokens", 256)))


def artefact_with(branch: Path, target: Path, card: dict, recipe: str, margin: float) -> Path:
    """A copy of the artefact ``branch`` at ``target`` whose card runs int8 ``recipe`` with fp32 ``margin``."""
    shutil.copytree(branch, target)
    (target / "card.json").write_text(json.dumps({**card, "int8_recipe": recipe, "int8_fp32_margin": margin}))
    return target


def domain_f1(frame: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    return {domain: 100 * f1_score(group["label"], labels[group.index], average="macro")
            for domain, group in frame.groupby("domain", sort=False)}


def main(argv: list[str] | None = None) -> None:
    from voxlens.sentiment import SentimentModel
    from voxlens.sentiment.int8_smoothing import write_ranges
    from voxlens.sentiment.scorers import LABELS, default_branch_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branch", type=Path, default=None, help="the branch model (default: the shipped one)")
    parser.add_argument("--per-domain", type=int, default=600, help="validation texts per training domain")
    parser.add_argument("--budget", type=float, default=0.5, help="macro-F1 cost allowed on each domain, in points")
    parser.add_argument("--dry-run", action="store_true", help="print the table, leave the card as it is")
    args = parser.parse_args(argv)
    branch = Path(args.branch or default_branch_dir())
    card = json.loads((branch / "card.json").read_text())
    frame = validation_texts(card, args.per_domain)
    texts = frame["text"].tolist()
    ranges = calibration_ranges(branch, card)

    scores, seconds = {}, {}
    settings = {label: (recipe, margin) for label, recipe, margin in candidates()}
    with tempfile.TemporaryDirectory() as scratch:
        for number, label in enumerate(["fp32", *settings]):
            recipe, margin = settings.get(label, (card.get("int8_recipe", "ffn"), 0.0))   # fp32 reads neither
            copy = artefact_with(branch, Path(scratch) / str(number), card, recipe, margin)
            write_ranges(copy, ranges)
            model = SentimentModel(model=str(copy), quantize=label != "fp32", long_text_chars=400)
            model.predict(texts[:8], langs=["en"] * 8)          # export and load outside the timing
            started = time.perf_counter()
            probs = model.predict(texts, langs=["en"] * len(texts))[["p_negative", "p_neutral", "p_positive"]]
            seconds[label] = time.perf_counter() - started
            scores[label] = domain_f1(frame, np.array(LABELS)[probs.to_numpy().argmax(axis=1)])
    table = pd.DataFrame(scores).T
    costs = table.loc["fp32"] - table.loc[list(settings)]
    chosen = choose(costs, args.budget, {label: recipe for label, (recipe, _) in settings.items()})
    print(f"{len(texts)} validation texts; macro-F1 per domain (points), the cost against fp32, seconds to score")
    shown = table.round(2).assign(**{"mean cost": [0.0, *costs.mean(axis=1).round(2)],
                                     "worst cost": [0.0, *costs.max(axis=1).round(2)],
                                     "seconds": [round(seconds[r], 1) for r in table.index]})
    print(shown.to_string())
    print(f"chosen: {chosen or 'none within the budget (the card keeps its recipe)'}")
    if args.dry_run or chosen is None:
        return
    card["int8_recipe"], card["int8_fp32_margin"] = settings[chosen]
    write_ranges(branch, ranges)
    card["int8_recipe_chosen_on"] = (f"the training domains' validation texts ({len(texts)}; macro-F1 cost "
                                     f"≤ {args.budget} points on every domain, at the chosen fp32 margin and "
                                     f"every larger one): "
                                     + json.dumps(costs.round(3).to_dict(orient="index")))
    (branch / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote int8_recipe={card['int8_recipe']!r}, int8_fp32_margin={card['int8_fp32_margin']} to "
          f"{branch / 'card.json'}")


if __name__ == "__main__":
    main()
