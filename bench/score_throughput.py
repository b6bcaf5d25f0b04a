"""Texts per second of plain transformers loops against voxlens, on real mixed feedback and the same weights.

The texts are real: long product reviews (Women's E-Commerce Clothing Reviews, longer than 400
characters, stars as labels) and short posts (Twitter US Airline Sentiment tweets, human labels), mixed
and shuffled; see :mod:`bench.real_feedback` for where they come from. The engines:

- naive loop: the MiniLM weights in ``AutoModel`` fp32 (all 6 layers), batches of 32 in input order, padded
  to the longest text of the batch, truncated to 256 tokens, mean pooling + the frozen-MiniLM head (v3, the
  previous default) on each whole text: the reference of the speed ratios;
- naive loop, branch model: the default model's torch module (``SentimentBranch``, fp32: trunk and branch,
  4 layers), the same batches, each whole text;
- ``transformers.pipeline``: the ``feature-extraction`` pipeline (batches of 32, truncated to 256 tokens)
  on the MiniLM weights, mean pooling over each text's tokens + the v3 head;
- voxlens fp32: ``SentimentModel(quantize=False).predict`` (``voxlens analyze --fp32``);
- voxlens int8: ``SentimentModel().predict``, the default (the int8 recipe and fp32 margin the model's card
  names, ``python -m voxlens.models.int8_recipe``).

``--branch DIR`` scores the branch model in DIR instead of the installed default; ``--random-branch`` times
a random branch of the default shape (2 + 2 layers, seed 0), whose macro-F1 means nothing. Before the timed runs,
fp32 and int8 are also scored (untimed, cached on disk) on the clothing reviews' test split (20% by hash,
title and text as in training; the rest may be training data) and on ``--eval-tweets`` tweets, and int8's macro-F1
cost against fp32 is printed with a paired bootstrap interval; ``--review-sets`` adds every English rated-review
set of :mod:`bench.eval_sentiment` (test splits, hotels, drugs.com). The timed mix's F1 columns read every
sampled review, training ones included.

The engines run in interleaved rounds on equal slices of the texts, so a change in machine load hits all
of them alike; ``--repeats 3`` measures three consecutive runs in one process. Each run prints texts per
second, the ratio to the naive loop, and macro-F1 on the reviews, on the tweets and on the mix.

Run:
    python -m bench.score_throughput                      # 400 long reviews + 1,200 tweets, 3 runs
    python -m bench.score_throughput --long 100 --short 300 --repeats 1
    python -m bench.score_throughput --review-sets --repeats 0   # int8 against fp32 on every review set
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np
import pandas as pd

COLUMNS = ["p_negative", "p_neutral", "p_positive"]
NAIVE = "naive loop (AutoModel fp32, batch 32, input order)"
NAIVE_BRANCH = "naive loop, branch model (torch fp32, batch 32)"
PIPELINE = "transformers.pipeline (feature-extraction)"
FP32 = "voxlens fp32 (quantize=False, --fp32)"
INT8 = "voxlens int8 (SentimentModel(), default)"
INT8_BUDGET = 0.5     # macro-F1 points int8 may cost against fp32 on an evaluation set


@functools.lru_cache(maxsize=1)
def naive_model():
    """The default encoder's weights, loaded plainly."""
    from transformers import AutoModel, AutoTokenizer

    from voxlens.sentiment.encoder import default_encoder_path

    path = default_encoder_path()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def naive_predict(texts: list[str], head, batch_size: int = 32, max_length: int = 256) -> np.ndarray:
    """The plain loop: fp32 model, fixed batches in input order, padded, mean pooling + head."""
    import torch

    tokenizer, model = naive_model()
    vectors = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            vectors.append(pooled.numpy())
    return head.predict_proba(np.concatenate(vectors))


def naive_branch_predict(texts: list[str], branch, batch_size: int = 32) -> np.ndarray:
    """The plain loop over the branch model's torch module: fixed batches in input order, whole texts."""
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            logits = branch.sentiment_logits(*branch.tokenize(texts[start:start + batch_size], max_tokens=256))
            out.append(torch.softmax(logits / branch.temperature, dim=1).numpy())
    return np.concatenate(out)


@functools.lru_cache(maxsize=1)
def feature_pipeline():
    from transformers import pipeline

    tokenizer, model = naive_model()
    return pipeline("feature-extraction", model=model, tokenizer=tokenizer, framework="pt", device=-1)


def pipeline_predict(texts: list[str], head, batch_size: int = 32, max_length: int = 256) -> np.ndarray:
    """``transformers.pipeline("feature-extraction")`` + mean pooling over each text's own tokens + head."""
    import torch

    extractor = feature_pipeline()
    tokenizer = extractor.tokenizer
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    outputs = extractor(texts, batch_size=batch_size, return_tensors=True,
                        tokenize_kwargs={"truncation": True, "max_length": max_length})
    vectors = []
    for hidden, n in zip(outputs, lengths):
        vectors.append(torch.nn.functional.normalize(hidden[0, :n].mean(0), dim=-1).numpy())
    return head.predict_proba(np.stack(vectors))


def token_counts(texts: list[str], segment, batch_size: int = 32) -> tuple[int, int, int]:
    """Tokens of the texts, tokens the naive loop runs (each batch padded to its longest), and tokens voxlens
    encodes (the pieces ``segment`` cuts each text into, unpadded): the work each does per layer, before
    any runtime speed-up."""
    tokenizer, _ = naive_model()
    lengths = np.array([len(i) for i in tokenizer(texts, truncation=True, max_length=256)["input_ids"]])
    padded = sum(int(lengths[s:s + batch_size].max()) * len(lengths[s:s + batch_size])
                 for s in range(0, len(lengths), batch_size))
    segments = [s for t in texts for s in segment(t)]
    encoded = sum(len(i) for i in tokenizer(segments, truncation=True, max_length=256)["input_ids"])
    return int(lengths.sum()), padded, encoded


def macro_f1(truth: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    from voxlens.sentiment.scorers import LABELS

    return 100 * f1_score(truth, np.array(LABELS)[probs.argmax(axis=1)], average="macro",
                          labels=list(LABELS))


def run_once(engines: dict, texts: list[str], rounds: int) -> dict[str, tuple[np.ndarray, float]]:
    """Each engine's probabilities and total seconds, the engines interleaved over ``rounds`` slices."""
    probs = {name: [] for name in engines}
    seconds = dict.fromkeys(engines, 0.0)
    for part in np.array_split(np.arange(len(texts)), rounds):
        chunk = [texts[i] for i in part]
        for name, run in engines.items():
            started = time.perf_counter()
            probs[name].append(np.asarray(run(chunk)))
            seconds[name] += time.perf_counter() - started
    return {name: (np.concatenate(probs[name]), seconds[name]) for name in engines}


def report(results: dict, mix: pd.DataFrame, target: float) -> list[dict]:
    truth, sets = mix["label"].to_numpy(), mix["set"].to_numpy()
    naive_seconds = results[NAIVE][1]
    rows = []
    print(f"{'engine':<46} {'texts/s':>8} {'vs naive':>9} {'F1 reviews':>11} {'F1 tweets':>10} {'F1 mix':>7}")
    for name, (probs, seconds) in results.items():
        row = {"engine": name, "texts_s": len(mix) / seconds, "ratio": naive_seconds / seconds,
               "reviews": macro_f1(truth[sets == "reviews"], probs[sets == "reviews"]),
               "tweets": macro_f1(truth[sets == "tweets"], probs[sets == "tweets"]),
               "mix": macro_f1(truth, probs)}
        rows.append(row)
        print(f"{name:<46} {row['texts_s']:8.1f} {row['ratio']:8.2f}x {row['reviews']:11.2f} "
              f"{row['tweets']:10.2f} {row['mix']:7.2f}")
    fp32, int8 = (next(r for r in rows if r["engine"] == name) for name in (FP32, INT8))
    cost = max(fp32[s] - int8[s] for s in ("reviews", "tweets", "mix"))
    same = 100 * (results[FP32][0].argmax(1) == results[INT8][0].argmax(1)).mean()
    print(f"int8 against fp32: macro-F1 cost at most {cost:+.2f} points (reviews {int8['reviews'] - fp32['reviews']:+.2f}, "
          f"tweets {int8['tweets'] - fp32['tweets']:+.2f}), {same:.1f}% same labels; "
          f"{'within' if cost <= INT8_BUDGET else 'over'} the {INT8_BUDGET:g}-point budget")
    for row in (fp32, int8):
        print(f"{row['engine']}: {row['ratio']:.2f}x naive, target {target:g}x "
              f"{'met' if row['ratio'] >= target else 'not met'}")
    return rows


def cached_probabilities(model, texts: list[str], artefact: str) -> np.ndarray:
    """``model.predict`` probabilities, kept on disk keyed by the texts, the model's name, ``artefact`` (a
    digest of the branch model's files, its int8 recipe and ranges included) and the batching rule (int8
    activations are quantised per batch, so batches shape the scores)."""
    import hashlib

    from bench.real_feedback import cache_dir

    from voxlens.sentiment.onnx_backend import INT8_RECIPE
    from voxlens.sentiment.runtime import SCORING_MIN_FILL

    recipe = INT8_RECIPE if model.quantize else "fp32"
    batching = f"min_fill={SCORING_MIN_FILL}"
    key = hashlib.sha256("\n".join([model.name, recipe, artefact, batching, *texts]).encode()).hexdigest()[:20]
    path = cache_dir() / "probabilities" / f"{key}.npy"
    if path.exists():
        return np.load(path)
    probs = model.predict(texts, langs=["en"] * len(texts))[COLUMNS].to_numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, probs)
    return probs


def english_review_sets() -> dict[str, pd.DataFrame]:
    """The English rated-review sets of :mod:`bench.eval_sentiment` (test splits of the training domains and of
    the evaluation-only ones, the held-out hotels, all drugs.com reviews), less the clothing split scored anyway."""
    from bench.eval_sentiment import POLISH_SET, review_sets

    skip = (POLISH_SET, "clothing reviews (test split)", "drugs.com reviews (out of domain, test file)")
    return {name: frame for name, frame in review_sets(None, drugs_all=True).items() if name not in skip}


def evaluate(models: dict, n_tweets: int, artefact: str, seed: int = 0, resamples: int = 1000,
             more_sets: dict[str, pd.DataFrame] | None = None) -> None:
    """Macro-F1 of each model on the clothing reviews' test split, ``n_tweets`` tweets and ``more_sets``
    (untimed), and int8's cost against fp32 with a paired bootstrap 95% interval."""
    from bench.real_feedback import load_sets

    from voxlens.models.review_data import load_review_set, split_of

    sets = load_sets()
    del sets["reviews"]
    clothing = load_review_set("clothing")          # title and text joined, as the branch model trained on them
    clothing = clothing[clothing["text"].map(split_of) == "test"]
    sets["reviews (test split)"] = clothing
    sets["tweets"] = sets["tweets"].sample(n=min(n_tweets, len(sets["tweets"])), random_state=seed)
    sets.update(more_sets or {})
    rng = np.random.default_rng(seed)
    width = max(16, *map(len, sets))
    print(f"\n{'evaluation set':<{width}} {'texts':>6} " + " ".join(f"{name:>12}" for name in models)
          + f" {'int8 - fp32':>12} {'95% interval':>16}")
    costs = {}
    for name, data in sets.items():
        truth = data["label"].to_numpy()
        probs = {model_name: cached_probabilities(model, data["text"].tolist(), artefact)
                 for model_name, model in models.items()}
        f1 = {model_name: macro_f1(truth, p) for model_name, p in probs.items()}
        fp32, int8 = probs["fp32"], probs["int8"]
        diffs = []
        for _ in range(resamples):
            pick = rng.integers(0, len(truth), len(truth))
            diffs.append(macro_f1(truth[pick], int8[pick]) - macro_f1(truth[pick], fp32[pick]))
        low, high = np.percentile(diffs, [2.5, 97.5])
        costs[name] = f1["fp32"] - f1["int8"]
        print(f"{name:<{width}} {len(truth):6d} " + " ".join(f"{f1[m]:12.2f}" for m in models)
              + f" {f1['int8'] - f1['fp32']:+12.2f} {f'[{low:+.2f}, {high:+.2f}]':>16}")
    worst = max(costs, key=costs.get)
    over = [name for name, cost in costs.items() if cost > INT8_BUDGET]
    print(f"int8's largest macro-F1 cost: {costs[worst]:+.2f} points ({worst}); "
          + (f"over the {INT8_BUDGET:g}-point budget on {len(over)} of {len(costs)} sets" if over
             else f"within the {INT8_BUDGET:g}-point budget on all {len(costs)} sets"))


def main(argv: list[str] | None = None) -> None:
    from pathlib import Path

    from voxlens.sentiment.branch import SentimentBranch
    from voxlens.sentiment.model import SentimentModel
    from voxlens.sentiment.scorers import SentimentHead, default_branch_dir, previous_head_dir
    from voxlens.sentiment.runtime import set_threads

    from bench.real_feedback import provenance, real_mix

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", type=int, default=400, help="real reviews longer than 400 characters")
    parser.add_argument("--short", type=int, default=1200, help="real tweets")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per run")
    parser.add_argument("--repeats", type=int, default=3, help="consecutive runs")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads for every engine")
    parser.add_argument("--target", type=float, default=6.0, help="speed-up over the naive loop to reach")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--branch", type=Path, default=None,
                        help="the branch model to score (default: the installed one, models/sentiment_branch/)")
    parser.add_argument("--random-branch", action="store_true",
                        help="time a random branch of the default shape (seed 0; its macro-F1 means nothing)")
    parser.add_argument("--eval-tweets", type=int, default=3000,
                        help="tweets in the untimed macro-F1 evaluation (with every review); 0 skips it")
    parser.add_argument("--review-sets", action="store_true",
                        help="also evaluate on every English rated-review set of bench.eval_sentiment (about 15,000 "
                             "reviews: some 15 minutes on 2 cores the first time, then cached)")
    args = parser.parse_args(argv)
    set_threads(args.threads)

    mix = real_mix(args.long, args.short, seed=args.seed)
    texts = mix["text"].tolist()
    for name, source in provenance().items():
        print(f"{name}: {source['repository']}@{source['commit'][:10]}:{source['path']} "
              f"sha256 {source['sha256'][:16]}… {source['licence']}")
    lengths = mix["text"].str.len().groupby(mix["set"]).median()
    print(f"texts: {args.long} reviews (median {lengths['reviews']:.0f} chars) + {args.short} tweets "
          f"(median {lengths['tweets']:.0f} chars)")

    head = SentimentHead.load(previous_head_dir())
    branch_dir = args.branch or default_branch_dir()
    if args.random_branch:
        import tempfile

        import torch

        torch.manual_seed(0)
        branch_dir = SentimentBranch(trunk_layers=2, branch_layers=2, hidden=256).save(
            Path(tempfile.mkdtemp(prefix="random-branch-")))
    branch = SentimentBranch.load(branch_dir).eval()
    routes = {**SentimentModel().default_routes(), "en": str(branch_dir)}
    fp32 = SentimentModel(routes=routes, quantize=False, progress=False)
    int8 = SentimentModel(routes=routes, quantize=True, progress=False)
    engines = {
        NAIVE: lambda part: naive_predict(part, head),
        NAIVE_BRANCH: lambda part: naive_branch_predict(part, branch),
        PIPELINE: lambda part: pipeline_predict(part, head),
        FP32: lambda part: fp32.predict(part)[COLUMNS].to_numpy(),
        INT8: lambda part: int8.predict(part)[COLUMNS].to_numpy(),
    }
    real, padded, encoded = token_counts(texts, int8._scorer(str(branch_dir)).segments)
    print(f"tokens: {real:,} in the texts; the naive loop runs {padded:,} (padded batches); voxlens encodes "
          f"{encoded:,} (windows of long texts, no padding): {padded / encoded:.2f}x fewer tokens; and "
          f"{branch.trunk_layers + branch.branch_layers} layers instead of 6 per token")
    for run in engines.values():  # load weights (export, quantise) outside the timed runs
        run(texts[:16])
    print(f"model: {fp32.name} / {int8.name}")
    if args.eval_tweets:
        from voxlens.sentiment.branch_runtime import artefact_key
        from voxlens.sentiment.encoder import default_encoder_path

        evaluate({"fp32": fp32, "int8": int8}, args.eval_tweets, artefact_key(branch_dir, default_encoder_path(), True),
                 args.seed, more_sets=english_review_sets() if args.review_sets else None)
    for repeat in range(args.repeats):
        print(f"\nrun {repeat + 1} of {args.repeats}")
        report(run_once(engines, texts, args.rounds), mix, args.target)


if __name__ == "__main__":
    main()
