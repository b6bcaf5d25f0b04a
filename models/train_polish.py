"""Train the shipped Polish sentiment model: TF-IDF word + character n-grams and stems, logistic regression.

Data (:mod:`voxlens.models.review_data`, read from the public KLEJ benchmark archives; provenance in the card):

- PolEmo 2.0, hotels and medicine reviews (KLEJ PolEmo2.0-IN ``train.tsv``): plus → positive, minus →
  negative, zero and amb (ambivalent) → neutral. CC BY-NC-SA 4.0: non-commercial use only.
- Allegro Reviews, product reviews with 1–5 stars (KLEJ AR ``train.tsv``): 1–2 negative, 3 neutral, 4–5
  positive. CC BY-SA 4.0.
- PolEmo 2.0's labelled sentences of those hotel and medicine reviews (the CoNLL release), each a training row
  at a weight validation chooses, so a short text is read as a sentence is, not as a whole review. Only the
  sentences of training reviews are trained on (:func:`polish_sentences`); those of the validation reviews
  join the validation, those of PolEmo2.0-IN's test reviews are only reported.

Validation (picks C, the class weighting, the weight of the Allegro reviews, the feature settings and how
many domain-telling features to leave out, then decides by 2-fold cross-validation whether class offsets help
the chosen model): PolEmo2.0-IN ``dev.tsv``, AR ``dev.tsv`` and the sentences of the PolEmo2.0-IN
``dev.tsv`` reviews, mean macro-F1. Test, only reported and never
used to choose anything: PolEmo 2.0's out-of-domain reviews (products and school, KLEJ PolEmo2.0-OUT
``dev.tsv``, ambivalent as neutral).

Run (about 5 minutes on 2 cores: three fits of about 70 s; each more grid setting adds three more):
    python -m voxlens.models.train_polish                 # writes models/polish_sentiment/
    python -m voxlens.models.train_polish --data DIR      # the archives copied to DIR (klej_ar.zip, ...)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from voxlens.models.review_data import POLEMO_SENTENCE_SETS, REVIEW_SETS, load_review_set, provenance, read_bytes
from voxlens.sentiment.ngram import LABELS, NgramSentimentModel, words

OUT = Path(__file__).parent / "polish_sentiment"
VERSION = "3"
DEFAULT_GRID = "16:balanced:0.5:joint+stem6"
"""v2's choice from ``16:balanced:0.5:joint,8:balanced:0.5:joint,16:balanced:0.5:block,16:balanced:0.5:joint+stem6,
16:balanced:0.5:block+stem6``; v3 keeps it and chooses the weight of the labelled sentences."""
DEFAULT_SENTENCE_WEIGHTS = (0.0, 0.3, 1.0)
"""Weights of PolEmo's labelled sentences, each crossed with every grid setting (0: reviews only, as v2)."""


def macro_f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro"))


def polish_splits(data: Path | None = None) -> dict[str, pd.DataFrame]:
    """train (PolEmo-IN + Allegro train), validation (their dev files), test (PolEmo-OUT dev)."""
    return {
        "train": pd.concat([load_review_set("polemo_in", data), load_review_set("allegro_reviews", data)],
                           ignore_index=True),
        "validation": pd.concat([load_review_set("polemo_in", data, member="dev.tsv"),
                                 load_review_set("allegro_reviews", data, member="dev.tsv")], ignore_index=True),
        "test": load_review_set("polemo_out", data),
    }


def word_key(text: str) -> str:
    """A text's lower-cased words joined by single spaces, so a sentence can be found inside the review it comes
    from whatever the spacing of their punctuation.

    >>> word_key("Pokój czysty , obsługa miła !")
    'pokój czysty obsługa miła'
    """
    return " ".join(words(text))


def review_texts(name: str, member: str, data: Path | None = None) -> list[str]:
    """The texts of one file of a KLEJ archive, labelled or not (``test_features.tsv`` has no labels)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(read_bytes(REVIEW_SETS[name], data))) as archive:
        inner = next(n for n in archive.namelist() if n.endswith("/" + member) or n == member)
        return pd.read_csv(io.BytesIO(archive.read(inner)), sep="\t", quoting=3)["sentence"].astype(str).tolist()


def sort_sentences(sentences: pd.DataFrame, reviews: dict[str, list[str]]) -> pd.Series:
    """The review split each sentence comes from: the first name of ``reviews`` (name → review texts, held-out
    splits first) whose reviews hold its words in order, or "" when none does. A sentence of fewer than two
    words could come from anywhere and gets "".

    >>> frame = pd.DataFrame({"text": ["Obsługa miła.", "Pokój brudny!", "Tak."]})
    >>> sort_sentences(frame, {"validation": ["Pokój brudny ! Obsługa ?"], "train": ["Obsługa miła , cisza ."]}).tolist()
    ['train', 'validation', '']
    """
    joined = {name: " \n ".join(word_key(t) for t in texts) for name, texts in reviews.items()}
    found = []
    for text in sentences["text"]:
        key = word_key(text)
        found.append("" if len(key.split()) < 2 else next((n for n, j in joined.items() if key in j), ""))
    return pd.Series(found, index=sentences.index)


def polish_sentences(splits: dict[str, pd.DataFrame], data: Path | None = None) -> dict[str, pd.DataFrame]:
    """PolEmo 2.0's labelled sentences of its hotel and medicine reviews, sorted by the review they come from
    (the CoNLL release's own train/dev/test files do not follow KLEJ's review split): ``train`` (in a training
    review), ``validation`` (in a validation review) and ``test`` (in one of KLEJ's PolEmo2.0-IN test reviews,
    whose labels are never read: only reported). A sentence found in a held-out review (validation, test or
    the out-of-domain test) is never trained on; one found nowhere is left out."""
    sentences = pd.concat([load_review_set(name, data) for name in POLEMO_SENTENCE_SETS], ignore_index=True)
    sentences = sentences.drop_duplicates("text").reset_index(drop=True)
    validation, train = (splits[name].loc[splits[name]["set"] == "polemo_in", "text"].tolist()
                         for name in ("validation", "train"))
    split = sort_sentences(sentences, {
        "out_of_domain": splits["test"]["text"].tolist(), "validation": validation,
        "test": review_texts("polemo_in", "test_features.tsv", data), "train": train})
    sentences["set"] = "polemo_sentences"
    return {name: sentences[(split == name).to_numpy()].reset_index(drop=True) for name in ("train", "validation", "test")}


def evaluate(model: NgramSentimentModel, frame: pd.DataFrame, x=None) -> dict[str, float]:
    """Macro-F1 per set of ``frame`` (``x``: its precomputed features)."""
    labels = np.array(["negative", "neutral", "positive"])
    probs = model.predict_proba(frame["text"].tolist()) if x is None else model.predict_features(x)
    predicted = labels[probs.argmax(1)]
    return {name: round(macro_f1(frame["label"][mask], predicted[mask]), 4)
            for name in sorted(frame["set"].unique()) for mask in [(frame["set"] == name).to_numpy()]}


FEATURES = {   # named feature settings of NgramSentimentModel a grid entry may use
    "joint": {},
    "block": {"block_norm": True},
    "block+stem6": {"block_norm": True, "stem_chars": 6},
    "joint+stem6": {"stem_chars": 6},
    "joint+stem6+lemmas+neg": {"stem_chars": 6, "lemmas": True, "negation": True},
    "words+stem6+lemmas": {"char_analyzer": None, "stem_chars": 6, "lemmas": True},
    "words+stem6+lemmas+neg": {"char_analyzer": None, "stem_chars": 6, "lemmas": True, "negation": True},
}
"""joint/block: one norm over all n-grams, or each kind scaled to unit length first; stem6: 6-letter stems;
lemmas: simplemma lemmas (:func:`voxlens.sentiment.ngram.lemma_ngrams`), neg: with negation marks; words:
no character n-grams (word n-grams, stems and lemmas only)."""
CLASS_WEIGHTS = ("none", "balanced", "per-set")


def _grid(text: str) -> list[tuple[float, str | None, float, str, int]]:
    """``C:class_weight:allegro_weight[:features[:drop]]`` entries, comma-separated (class_weight none,
    balanced or per-set: balanced within each training set; features a key of :data:`FEATURES`, default
    joint; drop: how many domain-telling features to leave out, see
    :meth:`~voxlens.sentiment.ngram.NgramSentimentModel.drop_domain_features`, default 0)."""
    out = []
    for item in text.split(","):
        C, class_weight, allegro_weight, *rest = item.split(":")
        features = rest[0] if rest else "joint"
        if features not in FEATURES:
            raise argparse.ArgumentTypeError(f"unknown features {features!r}: one of {', '.join(FEATURES)}")
        if class_weight not in CLASS_WEIGHTS:
            raise argparse.ArgumentTypeError(f"unknown class weight {class_weight!r}: one of {', '.join(CLASS_WEIGHTS)}")
        drop = int(rest[1]) if len(rest) > 1 else 0
        out.append((float(C), None if class_weight == "none" else class_weight, float(allegro_weight), features, drop))
    return out


def sample_weights(train: pd.DataFrame, class_weight: str | None, allegro_weight: float) -> np.ndarray:
    """Each training review's weight: ``allegro_weight`` for Allegro's, 1 for PolEmo's; with ``per-set``, times
    the class balancing weight within its own set (n / (3 · count of its label in its set)), rescaled to mean 1.

    >>> frame = pd.DataFrame({"set": ["a", "a", "a", "b"], "label": ["positive", "positive", "negative", "neutral"]})
    >>> sample_weights(frame, "per-set", 1.0).round(2).tolist()
    [0.86, 0.86, 1.71, 0.57]
    """
    weight = np.where(train["set"] == "allegro_reviews", allegro_weight, 1.0)
    if class_weight == "per-set":
        labels = train["label"].to_numpy()
        for name in train["set"].unique():
            in_set = (train["set"] == name).to_numpy()
            counts = pd.Series(labels[in_set]).value_counts()
            weight[in_set] *= in_set.sum() / (len(LABELS) * counts[labels[in_set]].to_numpy())
        weight *= len(weight) / weight.sum()
    return weight


def choose_offsets(model: NgramSentimentModel, x, validation: pd.DataFrame, seeds: int = 3) -> dict:
    """Class offsets (:meth:`NgramSentimentModel.fit_bias`) kept only when they help on held-out data: fitted
    on one half of the validation split and scored on the other (2 folds, ``seeds`` shuffles), against the
    model without offsets on the same reviews. When adopted, the offsets are refitted on all of it."""
    from sklearn.model_selection import StratifiedKFold

    labels = validation["label"].to_numpy()
    groups = validation["set"].to_numpy()
    y = np.array([LABELS.index(label) for label in labels])

    def mean_f1(predicted: np.ndarray) -> float:
        return float(np.mean([macro_f1(y[groups == g], predicted[groups == g]) for g in np.unique(groups)]))

    model.bias_ = np.zeros(len(LABELS), dtype=np.float32)
    without = mean_f1(model.predict_features(x).argmax(1))
    strata = [f"{g}:{label}" for g, label in zip(groups, labels)]
    crossed = []
    for seed in range(seeds):
        predicted = np.zeros(len(y), dtype=int)
        for fit, held in StratifiedKFold(2, shuffle=True, random_state=seed).split(x, strata):
            model.fit_bias(x[fit], labels[fit], groups[fit])
            predicted[held] = model.predict_features(x[held]).argmax(1)
        crossed.append(mean_f1(predicted))
    adopted = float(np.mean(crossed)) > without
    model.bias_ = np.zeros(len(LABELS), dtype=np.float32)
    if adopted:
        model.fit_bias(x, labels, groups)
    return {"adopted": adopted, "offsets": [round(float(b), 2) for b in model.bias_],
            "mean_validation_macro_f1_without": round(without, 4),
            "mean_validation_macro_f1_2fold": [round(f, 4) for f in crossed]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="directory holding the KLEJ archives")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--n-features", type=int, default=2**17)
    parser.add_argument("--grid", type=_grid, default=_grid(DEFAULT_GRID),
                        help="settings validation chooses from: C:class_weight:allegro_weight[:features[:drop]],"
                             f"... (class_weight: {', '.join(CLASS_WEIGHTS)}; features: {', '.join(FEATURES)}; "
                             "drop: domain-telling features left out)")
    parser.add_argument("--sentence-weights", type=lambda t: [float(w) for w in t.split(",")], default=list(DEFAULT_SENTENCE_WEIGHTS),
                        help="weights of PolEmo's labelled sentences (each a training row) validation chooses from")
    parser.add_argument("--no-offsets", action="store_true",
                        help="do not try class offsets for the chosen model (see choose_offsets)")
    args = parser.parse_args(argv)

    started = time.time()
    splits = polish_splits(args.data)
    sentences = polish_sentences(splits, args.data)
    print("PolEmo 2.0 sentences by the review they come from: "
          + ", ".join(f"{name} {len(frame):,}" for name, frame in sentences.items()), flush=True)
    train = pd.concat([splits["train"], sentences["train"]], ignore_index=True)
    validation = pd.concat([splits["validation"], sentences["validation"]], ignore_index=True)
    is_sentence = (train["set"] == "polemo_sentences").to_numpy()
    grid, fitted, validation_x, features = [], [], [], {}
    settings = [(*setting, weight) for setting in args.grid for weight in args.sentence_weights]
    for C, class_weight, allegro_weight, feature_name, drop, sentence_weight in tqdm(settings, desc="grid", unit="setting"):
        if feature_name not in features:       # features are computed once per feature setting
            base = NgramSentimentModel(args.n_features, **FEATURES[feature_name]).fit_idf(train["text"].tolist())
            features[feature_name] = (base.idf_, base.features(train["text"].tolist()),
                                      base.features(validation["text"].tolist()))
        idf, x_train, x_validation = features[feature_name]
        model = NgramSentimentModel(args.n_features, C, None if class_weight == "per-set" else class_weight,
                                    **FEATURES[feature_name])
        model.idf_ = idf
        if drop:     # the features that tell PolEmo's hotel and medical reviews from Allegro's products apart
            model.drop_domain_features(x_train, train["set"], drop)
            x_train, x_validation = model.keep_features(x_train), model.keep_features(x_validation)
        weights = np.where(is_sentence, sentence_weight, sample_weights(train, class_weight, allegro_weight))
        model.fit_features(x_train[weights > 0], train["label"][weights > 0], weights[weights > 0])
        scores = evaluate(model, validation, x_validation)
        grid.append({"C": C, "class_weight": class_weight, "allegro_weight": allegro_weight, "features": feature_name,
                     "dropped_domain_features": drop, "sentence_weight": sentence_weight, "validation": scores,
                     "mean_validation_macro_f1": round(float(np.mean(list(scores.values()))), 4)})
        fitted.append(model)
        validation_x.append(x_validation)
        print(json.dumps(grid[-1]), flush=True)
    chosen = int(np.argmax([row["mean_validation_macro_f1"] for row in grid]))
    best, model = grid[chosen], fitted[chosen]
    offsets = None
    if not args.no_offsets:
        offsets = choose_offsets(model, validation_x[chosen], validation)
        print(f"class offsets: {json.dumps(offsets)}")
    test = {**evaluate(model, splits["test"]), **evaluate(model, sentences["test"])}
    print(f"chosen on validation: {best}\ntest macro-F1 (PolEmo 2.0 out of domain; the sentences of "
          f"PolEmo2.0-IN's test reviews): {test}")
    model.card = {
        "name": "voxlens/polish-ngram-sentiment", "version": VERSION, "lang": "pl",
        "model": "TF-IDF over hashed word 1–2-grams, optionally character 2–5-grams (within words), crude "
                 "6-letter stems and simplemma lemmas with negation marks (all as 1–2-grams), sublinear tf, "
                 "optionally without the features that best tell the training sets' domains apart, multinomial "
                 "logistic regression (class offsets only where cross-validation on the validation split favours "
                 "them); weights stored in float16",
        "labels": "PolEmo 2.0: plus positive, minus negative, zero and amb (ambivalent) neutral; Allegro "
                  "Reviews: 1–2 stars negative, 3 neutral, 4–5 positive",
        "licence_note": "trained on PolEmo 2.0 (CC BY-NC-SA 4.0): the weights are for non-commercial use",
        "allegro_weight": best["allegro_weight"], "features": best["features"],
        "sentence_weight": best["sentence_weight"],
        "class_weighting": best["class_weight"], "selection": grid,
        "class_offsets_fit": offsets,
        "test": {"polemo_out_dev_macro_f1": test.get("polemo_out"),
                 "polemo_in_test_sentences_macro_f1": test.get("polemo_sentences"),
                 "polemo_in_test_sentences": int(len(sentences["test"]))},
        "train_rows": int(len(splits["train"]) + (len(sentences["train"]) if best["sentence_weight"] else 0)),
        "sentence_rows": {name: int(len(frame)) for name, frame in sentences.items()},
        "data": provenance(["polemo_in", "polemo_out", "allegro_reviews", *POLEMO_SENTENCE_SETS], args.data),
        "command": "python -m voxlens.models.train_polish " + " ".join(sys.argv[1:] if argv is None else argv), "seconds": round(time.time() - started),
    }
    model.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
