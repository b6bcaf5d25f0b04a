"""Texts per second of a naive transformers loop against voxlens, on the same weights and texts.

The texts are a labelled mix of short posts and long reviews from the held-out test split of the
default sentiment head's data (``voxlens.models.train_sentiment.load_splits``, needs ``pip install voxlens[train]``):
short posts are single test tweets; a long review joins 8–14 test tweets of one label into one text
(about 200–300 tokens), so every text has a true label. Same default weights everywhere: the MiniLM
encoder and the trained head.

- naive: ``AutoModel`` fp32, fixed batches of 32 in input order, padded to the longest in the batch,
  truncated to 256 tokens, mean pooling + the head on each whole text (the plain way to run the model).
- naive, model's units: the same plain loop over the units the model scores (the sentences of texts
  longer than ``long_text_chars``, other texts whole), folded by the model's own aggregation: the
  unoptimised model, whose macro-F1 the optimised engines must keep.
- voxlens, torch backend: ``SentimentModel().predict`` with the encoder run in PyTorch (texts tokenised
  once, length-bucketed batches with a token budget, no padding waste, de-duplication, inference mode), fp32;
  long texts are scored per sentence.
- voxlens default: the same in ONNX Runtime (the model exported once, attention fused), fp32.
- voxlens int8: ``SentimentModel(quantize=True)``: the ONNX model with int8 weights per output channel.

Each row prints texts/second, the speed-up over naive, macro-F1 against the true labels and the share
of labels equal to the naive ones.

Run:
    python bench/score_throughput.py                  # 1,200 short posts + 400 long reviews
    python bench/score_throughput.py --short 300 --long 100
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np
import pandas as pd


def labelled_mix(n_short: int, n_long: int, seed: int = 0) -> pd.DataFrame:
    """Short posts and long reviews with true labels, shuffled."""
    from voxlens.models.train_sentiment import load_splits

    test = load_splits()["test"]
    rng = np.random.default_rng(seed)
    short = test.sample(n=n_short, random_state=seed)
    rest = test.drop(short.index)
    long_rows = []
    for _ in range(n_long):
        label = rng.choice(["negative", "neutral", "positive"])
        pool = rest[rest["label"] == label]
        parts = pool.sample(n=int(rng.integers(8, 15)), random_state=int(rng.integers(1 << 31)))
        long_rows.append({"text": " ".join(parts["text"]), "label": label})
    mix = pd.concat([short[["text", "label"]], pd.DataFrame(long_rows)], ignore_index=True)
    return mix.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def naive_model():
    """The default encoder's weights, loaded plainly."""
    from transformers import AutoModel, AutoTokenizer

    from voxlens.sentiment.encoder import default_encoder_path

    return AutoTokenizer.from_pretrained(default_encoder_path()), AutoModel.from_pretrained(default_encoder_path()).eval()


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


class NaiveScorer:
    """The plain loop as a scorer, so :class:`SentimentModel` folds its sentence scores as usual."""

    def __init__(self, head, recency: float) -> None:
        self.head, self.recency = head, recency

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return naive_predict(texts, self.head)


def main(argv: list[str] | None = None) -> None:
    from sklearn.metrics import f1_score

    from voxlens.sentiment.encoder import Encoder
    from voxlens.sentiment.model import LABELS, SentimentHead, SentimentModel, default_head_dir
    from voxlens.sentiment.runtime import set_threads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=1200, help="short posts")
    parser.add_argument("--long", type=int, default=400, help="long reviews")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads for every engine")
    args = parser.parse_args(argv)
    set_threads(args.threads)

    mix = labelled_mix(args.short, args.long)
    texts, truth = mix["text"].tolist(), mix["label"].to_numpy()
    head = SentimentHead.load(default_head_dir())
    print(f"texts: {args.short} short posts + {args.long} long reviews "
          f"(median {int(np.median([len(t) for t in texts]))} chars, max {max(len(t) for t in texts)})")

    on_torch, default, int8 = SentimentModel(), SentimentModel(), SentimentModel(quantize=True)
    scorer = on_torch._scorer(None)
    scorer._load()
    scorer.encoder_ = Encoder(batch_size=scorer.batch_size, backend="torch")
    columns = ["p_negative", "p_neutral", "p_positive"]
    naive_units = NaiveScorer(head, default._scorer(None).recency)
    engines = {
        "naive loop (torch fp32, batches of 32, input order)": lambda part: naive_predict(part, head),
        "naive loop on the model's units (unoptimised model)": lambda part: default._proba(naive_units, part)[0],
        "voxlens, torch backend (length-bucketed, fp32)": lambda part: on_torch.predict(part)[columns].to_numpy(),
        "voxlens default (ONNX Runtime, fp32)": lambda part: default.predict(part)[columns].to_numpy(),
        "voxlens int8 (SentimentModel(quantize=True))": lambda part: int8.predict(part)[columns].to_numpy(),
    }
    for run in engines.values():  # load weights (and quantise) outside the timed runs
        run(texts[:16])
    # Rounds interleave the engines on equal slices, so a change in machine load hits all of them alike.
    probs = {name: [] for name in engines}
    seconds = dict.fromkeys(engines, 0.0)
    for part in np.array_split(np.arange(len(texts)), args.rounds):
        for name, run in engines.items():
            started = time.perf_counter()
            probs[name].append(np.asarray(run([texts[i] for i in part])))
            seconds[name] += time.perf_counter() - started
    results = {name: (np.concatenate(probs[name]), seconds[name]) for name in engines}

    naive_probs, naive_seconds = next(iter(results.values()))
    naive_labels = naive_probs.argmax(axis=1)
    f1 = {name: 100 * f1_score(truth, [LABELS[i] for i in probs.argmax(axis=1)], average="macro")
          for name, (probs, _) in results.items()}
    naive_f1 = next(iter(f1.values()))
    print(f"{'engine':<52} {'texts/s':>8} {'speed-up':>9} {'macro-F1':>9} {'vs naive':>9} {'same label':>11}")
    for name, (probs, seconds) in results.items():
        same = 100 * (probs.argmax(axis=1) == naive_labels).mean()
        print(f"{name:<52} {len(texts) / seconds:8.1f} {naive_seconds / seconds:8.2f}x "
              f"{f1[name]:9.2f} {f1[name] - naive_f1:+9.2f} {same:10.1f}%")
    units, fp32, int8 = list(results)[1], list(results)[3], list(results)[4]
    for name in (fp32, int8):
        changed = 100 * (results[units][0].argmax(axis=1) != results[name][0].argmax(axis=1)).mean()
        print(f"\n{name}: {results[units][1] / results[name][1]:.2f}x the unoptimised model's texts/s, "
              f"macro-F1 {f1[name] - f1[units]:+.2f} points against it, {changed:.1f}% of labels changed", end="")
    print()

if __name__ == "__main__":
    main()
