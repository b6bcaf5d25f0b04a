"""Topics on real, human-labelled feedback: voxlens's default path beside BERTopic's defaults, one run.

For every set (built by ``python -m bench.topic_data``), both models get the same MiniLM vectors (the
encoder ``voxlens analyze`` uses). voxlens fits exactly as ``voxlens analyze`` does: languages detected
by the same function, ``voxlens.pipeline.fit_topic_model`` with the default ``TopicModel`` on at most the
pipeline's ``fit_sample`` items (in the order of a hash of each item), then every item assigned by
``transform``. BERTopic runs with its defaults (UMAP 5-d, HDBSCAN min_cluster_size 10, c-TF-IDF), the
UMAP seed set so that runs can be repeated.

Printed per set and model: topics, largest topic's share, outliers, AMI and purity against the human
labels (outliers count as one more cluster), label quality, stability (ARI between seeds 0, 1, 2; and
between fits on different 90 % subsamples, compared on all items), fit time of seed 0.

    python -m bench.topic_data --mirrors /work/.mirror
    python -m bench.eval_topics
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import re
import time
from importlib import metadata

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

from bench.topic_data import embeddings, load
from voxlens.pipeline import Pipeline, fit_topic_model
from voxlens.sentiment.language import detect_languages
from voxlens.sentiment.topic_labels import clean_text, handle_words
from voxlens.sentiment.topics import OUTLIER, TopicModel

SETS = ["airline", "banking77", "restaurants"]
SEEDS = (0, 1, 2)
CORPUS_WIDE = 0.2       # a label word in more than this share of the set's texts names the corpus


def fit_sample_rows(n: int) -> np.ndarray:
    """The rows ``voxlens analyze`` fits on: at most ``fit_sample``, in the order of a hash of the item."""
    limit = inspect.signature(Pipeline).parameters["fit_sample"].default
    order = sorted(range(n), key=lambda i: hashlib.sha1(str(i).encode()).hexdigest())
    return np.sort(np.asarray(order[:limit]))


def voxlens_fit(texts: list[str], vectors: np.ndarray, langs: list[str], seed: int,
                rows: np.ndarray) -> tuple[np.ndarray, list[str], float]:
    started = time.perf_counter()
    model = fit_topic_model(TopicModel(random_state=seed), [texts[i] for i in rows], vectors[rows],
                            [langs[i] for i in rows])
    seconds = time.perf_counter() - started
    return model.transform(vectors)["topic_id"].to_numpy(), [t.label for t in model.topics_.values()], seconds


def bertopic_fit(texts: list[str], vectors: np.ndarray, seed: int,
                 rows: np.ndarray) -> tuple[np.ndarray, list[str], float]:
    from bertopic import BERTopic
    from umap import UMAP

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False,
                random_state=seed)        # BERTopic's default UMAP, seeded
    started = time.perf_counter()
    model = BERTopic(umap_model=umap)
    fitted = np.full(len(texts), OUTLIER)
    fitted[rows] = model.fit_transform([texts[i] for i in rows], vectors[rows])[0]
    if len(rows) < len(texts):
        rest = np.setdiff1d(np.arange(len(texts)), rows)
        fitted[rest] = model.transform([texts[i] for i in rest], vectors[rest])[0]
    seconds = time.perf_counter() - started
    labels = [" · ".join(w for w, _ in model.get_topic(t)[:3]) for t in sorted(set(fitted) - {OUTLIER})]
    return fitted, labels, seconds


def purity(truth: pd.Series, found: np.ndarray) -> float:
    table = pd.crosstab(found, truth.to_numpy())
    return float(table.max(axis=1).sum() / len(truth))


def label_quality(labels: list[str], texts: list[str]) -> dict[str, float]:
    """Shares of labels with a handle, URL or number (or a brand: a frequent @handle written without @);
    with a repeated word; with a corpus-wide word (in more than ``CORPUS_WIDE`` of the texts)."""
    brands = handle_words(texts)
    cleaned = [set(clean_text(t).split()) for t in texts]
    frequency: dict[str, float] = {}

    def share(word: str) -> float:
        if word not in frequency:
            frequency[word] = float(np.mean([word in c for c in cleaned]))
        return frequency[word]

    handle = repeated = wide = bad = 0
    for label in labels:
        words = label.replace("·", " ").split()
        h = any(w.startswith("@") or "http" in w or "www" in w or re.search(r"\d", w) or w.lower() in brands
                for w in words)
        r = len(set(words)) < len(words)
        c = any(share(w.lower()) > CORPUS_WIDE for w in set(words))
        handle, repeated, wide, bad = handle + h, repeated + r, wide + c, bad + (h or r or c)
    n = max(len(labels), 1)
    return {"handle/url": handle / n, "repeated": repeated / n, "corpus-wide": wide / n, "bad": bad / n}


def evaluate(name: str, methods: list[str]) -> list[dict]:
    frame = load(name)
    texts, truth = frame["text"].astype(str).tolist(), frame["label"].astype(str)
    vectors = embeddings(texts)
    langs = detect_languages(texts)
    rows = fit_sample_rows(len(texts))
    rng = np.random.default_rng(0)
    subsamples = [np.sort(rng.choice(rows, size=int(0.9 * len(rows)), replace=False)) for _ in SEEDS]
    results = []
    for method in methods:
        fit = (lambda seed, r: voxlens_fit(texts, vectors, langs, seed, r)) if method == "voxlens" else \
              (lambda seed, r: bertopic_fit(texts, vectors, seed, r))
        runs = [fit(seed, rows) for seed in SEEDS]
        resampled = [fit(0, sub)[0] for sub in subsamples]
        assigned, labels, seconds = runs[0]
        sizes = np.bincount(assigned[assigned != OUTLIER]) if (assigned != OUTLIER).any() else np.zeros(1)
        quality = label_quality(labels, texts)
        results.append({
            "set": name, "items": len(texts), "human labels": truth.nunique(), "model": method,
            "topics": int((sizes > 0).sum()), "largest": sizes.max() / len(texts),
            "outliers": float((assigned == OUTLIER).mean()),
            "AMI": adjusted_mutual_info_score(truth, assigned), "purity": purity(truth, assigned),
            "bad labels": quality["bad"], "handle/url/brand": quality["handle/url"],
            "repeated": quality["repeated"], "corpus-wide": quality["corpus-wide"],
            "ARI seeds": min(adjusted_rand_score(runs[0][0], run[0]) for run in runs[1:]),
            "ARI 90% samples": min(adjusted_rand_score(resampled[0], other) for other in resampled[1:]),
            "fit s": seconds,
        })
        print(f"{name} {method}: {results[-1]['topics']} topics, first labels: {labels[:8]}", flush=True)
    return results


def install_sizes() -> pd.DataFrame:
    """Installed size of what BERTopic (with UMAP and HDBSCAN) adds beyond voxlens's own dependencies."""
    def closure(names: list[str]) -> set[str]:
        seen: set[str] = set()
        todo = list(names)
        while todo:
            name = re.split(r"[ ;<>=!~\[]", todo.pop())[0].lower().replace("_", "-")
            if not name or name in seen:
                continue
            try:
                requires = metadata.requires(name) or []
            except metadata.PackageNotFoundError:
                continue
            seen.add(name)
            todo += [r for r in requires if "extra ==" not in r]
        return seen

    def size(name: str) -> int:
        files = metadata.distribution(name).files or []
        return sum(f.size or 0 for f in files)

    own = closure(["voxlens"])
    added = closure(["bertopic", "umap-learn", "hdbscan"]) - own
    rows = [{"package": name, "MB": size(name) / 1e6} for name in sorted(added)]
    rows.append({"package": "voxlens's whole dependency closure", "MB": sum(size(n) for n in own) / 1e6})
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table of ``frame`` as shown (strings as they are, numbers as Python prints them)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS)
    parser.add_argument("--methods", nargs="+", default=["voxlens", "bertopic"], choices=["voxlens", "bertopic"])
    args = parser.parse_args()
    results = pd.DataFrame([row for name in args.sets for row in evaluate(name, args.methods)])
    shares = ["largest", "outliers", "bad labels", "handle/url/brand", "repeated", "corpus-wide"]
    shown = results.copy()
    for column in shares:
        shown[column] = shown[column].map(lambda v: f"{v:.1%}")
    for column in ["AMI", "purity", "ARI seeds", "ARI 90% samples"]:
        shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    shown["fit s"] = shown["fit s"].map(lambda v: f"{v:.1f}")
    print(markdown(shown))
    if "bertopic" in args.methods:
        sizes = install_sizes()
        print()
        print(markdown(sizes.assign(MB=sizes["MB"].map(lambda v: f"{v:.1f}"))))
        print(f"BERTopic, UMAP and HDBSCAN add {sizes['MB'][:-1].sum():.0f} MB beyond voxlens's own dependencies.")


if __name__ == "__main__":
    main()
