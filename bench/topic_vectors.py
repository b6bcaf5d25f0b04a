"""Could a long text's topic vector pool its sentence vectors instead of encoding the whole text?

``Pipeline.analyze`` scores a long text sentence by sentence. Its topic vector could be the token-weighted
mean of those sentence vectors (no whole-text pass at all) or the whole text's own embedding (what the
pipeline does, in the same encoder call as the sentences). This compares the two on the real reviews of
:mod:`bench.real_feedback` (a third of them are long):

- cosine similarity of the two vectors of each long text;
- ``--topics`` topics fitted on each kind of vector (``TopicModel``): how well they recover the reviews'
  garment class (normalised mutual information, NMI), and how much the two topic sets
  agree (adjusted Rand index, ARI), next to the agreement of two fits of the whole-text vectors that
  differ only in their seed (the noise floor of the clustering);
- the share of long texts that the whole-text topics put in the same topic from either vector.

Vectors are cached on disk, keyed by the texts and the encoder.

Run:
    python -m bench.topic_vectors
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pandas as pd


def cached(kind: str, texts: list[str], compute) -> np.ndarray:
    from bench.real_feedback import cache_dir

    key = hashlib.sha256("\n".join([kind, *texts]).encode()).hexdigest()[:20]
    path = cache_dir() / "vectors" / f"{key}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, compute())
    return np.load(path)


def pooled_sentence_vectors(model, texts: list[str]) -> np.ndarray:
    """Each text's sentence vectors averaged with their token counts as weights, at unit length."""
    from voxlens.sentiment.segments import scoring_segments

    segments = [scoring_segments(t, model.long_text_chars) for t in texts]
    vectors, lengths = model.embedding_encoder().encode([s for g in segments for s in g], return_lengths=True)
    owner = np.repeat(np.arange(len(texts)), [len(g) for g in segments])
    pooled = np.zeros((len(texts), vectors.shape[1]))
    np.add.at(pooled, owner, vectors * lengths[:, None])
    return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from voxlens.sentiment.model import SentimentModel
    from voxlens.sentiment.topics import TopicModel

    from bench.real_feedback import load_sets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=12, help="topics per fit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sets = load_sets()
    data = sets["reviews"]
    texts = data["text"].tolist()
    model = SentimentModel(progress=False)
    encoder = model.embedding_encoder()
    whole = cached(f"whole {encoder.config()}", texts, lambda: encoder.encode(texts))
    pooled = cached(f"pooled {encoder.config()} {model.long_text_chars}", texts,
                    lambda: pooled_sentence_vectors(model, texts))
    long = data["text"].str.len().to_numpy() > model.long_text_chars
    cosine = (whole[long] * pooled[long]).sum(axis=1)
    print(f"{len(texts)} reviews, {long.sum()} long (> {model.long_text_chars} chars, pooled from sentences)")
    print(f"cosine(whole-text vector, pooled sentence vectors) on long texts: median {np.median(cosine):.3f}, "
          f"5th percentile {np.percentile(cosine, 5):.3f}, min {cosine.min():.3f}")

    def topics(vectors: np.ndarray, seed: int) -> tuple[TopicModel, np.ndarray]:
        fitted = TopicModel(n_topics=args.topics, random_state=seed).fit(texts, vectors, langs=["en"] * len(texts))
        return fitted, fitted.transform(vectors)["topic_id"].to_numpy()

    fits = {"whole-text vectors (seed 0)": topics(whole, args.seed),
            "whole-text vectors (seed 1)": topics(whole, args.seed + 1),
            "pooled sentence vectors (seed 0)": topics(pooled, args.seed)}
    reference = fits["whole-text vectors (seed 0)"][1]
    print(f"\n{'topics fitted on':<34} {'topics':>6} {'NMI class':>10} {'NMI class, long':>16} {'ARI vs whole s0':>16}")
    for name, (fitted, labels) in fits.items():
        print(f"{name:<34} {len(fitted.topics_):6d} "
              f"{normalized_mutual_info_score(data['group'], labels):10.3f} "
              f"{normalized_mutual_info_score(data['group'][long], labels[long]):16.3f} "
              f"{adjusted_rand_score(reference, labels):16.3f}")
    whole_model = fits["whole-text vectors (seed 0)"][0]
    same = (whole_model.transform(pooled[long])["topic_id"].to_numpy() == reference[long]).mean()
    print(f"\nlong texts put in the same whole-text topic from either vector: {100 * same:.1f}%")


if __name__ == "__main__":
    main()
