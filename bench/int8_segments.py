"""How far int8 moves each scored piece's probabilities, per recipe, on the recipe choice's validation texts.

Each validation text of the training domains (as ``python -m voxlens.models.int8_recipe`` reads them) is cut
into the pieces the branch model scores (the whole text, or windows of a long one); each piece is scored by
the fp32 graph and by each recipe's int8 graph, and the largest change of its three probabilities is
summarised per recipe: mean, 99th percentile, largest, and the share of pieces whose change exceeds 0.1.
A piece's label can only change when its fp32 margin between the two most likely classes is below its change.

Run (about a minute on CPU):
    python -m bench.int8_segments
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv: list[str] | None = None) -> None:
    from voxlens.models.int8_recipe import artefact_with, validation_texts
    from voxlens.sentiment.branch_runtime import INT8_RECIPES, BranchEncoder
    from voxlens.sentiment.scorers import BranchScorer, SentimentHead, default_branch_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-domain", type=int, default=600, help="validation texts per domain")
    args = parser.parse_args(argv)
    branch = default_branch_dir()
    card = json.loads((branch / "card.json").read_text())
    scorer = BranchScorer(branch)
    pieces = [piece for text in validation_texts(card, args.per_domain)["text"] for piece in scorer.segments(text)]
    head = SentimentHead.from_branch(branch)
    exact = head.predict_proba(BranchEncoder(branch, quantize=False, progress=False).features(pieces))
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for recipe in INT8_RECIPES:
            copy = artefact_with(branch, Path(scratch) / recipe.replace("+", "_"), card, recipe, margin=0.0)
            change = np.abs(head.predict_proba(BranchEncoder(copy, progress=False).features(pieces)) - exact).max(axis=1)
            rows[recipe] = {"mean": change.mean(), "99th percentile": np.quantile(change, 0.99),
                            "largest": change.max(), "share over 0.1": (change > 0.1).mean()}
    print(f"{len(pieces)} pieces of the validation texts; the largest change of a piece's probabilities, int8 "
          f"against fp32 (shipped recipe: {card.get('int8_recipe', 'ffn')})")
    print(pd.DataFrame(rows).T.round(3).to_string())


if __name__ == "__main__":
    main()
