"""Training data of the sentiment branch: labelled texts of several domains, cut as prediction cuts them, and
the frozen trunk's token vectors of every segment, computed once and cached on disk.

Domains: the corpus sources of :mod:`voxlens.models.train_sentiment` (tweets, Rotten Tomatoes snippets, IMDB
reviews; their own train/validation/test split) and the English rated-review sets of
:mod:`voxlens.models.review_data` that may be trained on (the clothing reviews and every English set registered
for training; split by :func:`voxlens.models.review_data.split_of`). Evaluation-only sets (hotels, drugs.com)
are never read here.

Example:
    >>> segment_texts(["Fine.", "Late. " * 100], long_text_chars=400)[1][:1] == ["Late. " * 66 + "Late."]
    True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from voxlens.sentiment.segments import scoring_segments

LABELS = ("negative", "neutral", "positive")
TRUNK_CACHE = Path.home() / ".cache" / "voxlens" / "branch-trunk"


def review_domains() -> list[str]:
    """English rated-review sets that may be trained on: the clothing reviews and every English set
    registered for training (never an evaluation-only set)."""
    from voxlens.models.review_data import ENGLISH_TRAINING_SETS, REVIEW_SETS

    return ["clothing"] + [name for name in ENGLISH_TRAINING_SETS if REVIEW_SETS[name].use == "train"]


def load_domains(corpus_sources: Sequence[str], reviews: Sequence[str], data_dir: Path | None = None,
                 max_per_domain: int | None = None, seed: int = 13) -> pd.DataFrame:
    """``text``, ``label``, ``domain``, ``split`` (train / validation / test) of every domain: the corpus
    sources of ``train_sentiment`` by name, the review sets by their domain (e.g. two airline sets, one domain).

    ``max_per_domain`` caps a domain's training rows: the rarest classes are kept whole, the others sampled
    (by a fixed seed) so the domain's classes are as even as the cap allows.
    """
    from voxlens.models.review_data import load_review_sets
    from voxlens.models.train_sentiment import load_splits

    frames = []
    if corpus_sources:
        for split, frame in load_splits(seed, tuple(corpus_sources)).items():
            frames.append(frame.rename(columns={"source": "domain"}).assign(split=split))
    if reviews:   # each text once across the sets, split by split_of; a set's domain names it (e.g. "airline")
        frames.append(load_review_sets(list(reviews), data_dir, seed=seed))
    data = pd.concat(frames, ignore_index=True)[["text", "label", "domain", "split"]]
    data = data[data["label"].isin(LABELS)].drop_duplicates("text").reset_index(drop=True)
    if max_per_domain:
        data = pd.concat([cap_classes(group, max_per_domain, seed) if split == "train" else group
                          for (_, split), group in data.groupby(["domain", "split"], sort=False)], ignore_index=True)
    return data


def without_neutral(data: pd.DataFrame, domains: Sequence[str]) -> pd.DataFrame:
    """``data`` without the neutral examples of ``domains`` (e.g. the Rotten Tomatoes plot sentences)."""
    return data[~(data["domain"].isin(list(domains)) & (data["label"] == "neutral"))].reset_index(drop=True)


def cap_classes(frame: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """At most ``cap`` rows, classes as even as possible (a class smaller than its share is kept whole)."""
    if len(frame) <= cap:
        return frame
    counts = frame["label"].value_counts().sort_values()
    take, left = {}, cap
    for i, (label, count) in enumerate(counts.items()):
        take[label] = min(count, left // (len(counts) - i))
        left -= take[label]
    return pd.concat([group.sample(take[label], random_state=seed) for label, group in frame.groupby("label")])


def segment_texts(texts: Sequence[str], long_text_chars: int = 400) -> list[list[str]]:
    """Each text's segments as prediction reads it: whole, or in windows of whole sentences."""
    return [scoring_segments(str(text), long_text_chars, windows=True) for text in texts]


@dataclass
class TrunkStates:
    """Token vectors after the trunk for many segments, flat: segment ``i`` is
    ``flat[offsets[i]:offsets[i] + lengths[i]]`` (float16)."""

    flat: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray

    def batch(self, index: np.ndarray, max_tokens: int | None = None):
        """(hidden, attention_mask) torch tensors of the segments ``index``, padded to the longest."""
        import torch

        lengths = self.lengths[index] if max_tokens is None else np.minimum(self.lengths[index], max_tokens)
        width = int(lengths.max())
        hidden = np.zeros((len(index), width, self.flat.shape[1]), dtype=np.float32)
        for row, (segment, length) in enumerate(zip(index, lengths)):
            hidden[row, :length] = self.flat[self.offsets[segment]:self.offsets[segment] + length]
        mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        return torch.from_numpy(hidden), torch.from_numpy(mask)

    @staticmethod
    def concat(parts: Sequence["TrunkStates"]) -> "TrunkStates":
        lengths = np.concatenate([p.lengths for p in parts])
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return TrunkStates(np.concatenate([p.flat for p in parts]), offsets, lengths)


def trunk_states(model, segments: Sequence[str], max_tokens: int, cache: Path | None = TRUNK_CACHE,
                 max_batch_tokens: int = 8192, desc: str = "trunk") -> TrunkStates:
    """The trunk's token vectors of ``segments`` (``model``: a :class:`voxlens.sentiment.branch.SentimentBranch`),
    cached in ``cache`` under a hash of the segments, the base model and the trunk's shape."""
    import torch

    from voxlens.sentiment.runtime import length_batches

    key = hashlib.sha256("\x00".join([model.encoder_path, str(model.trunk_layers), str(max_tokens), *segments])
                         .encode()).hexdigest()[:20]
    path = Path(cache) / f"{key}.npz" if cache else None
    if path is not None and path.exists():
        stored = np.load(path)
        return TrunkStates(stored["flat"], stored["offsets"], stored["lengths"])
    ids = model.tokenizer(list(segments), truncation=True, max_length=max_tokens, return_attention_mask=False,
                          return_token_type_ids=False)["input_ids"]
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    flat = np.zeros((int(lengths.sum()), model.bert.config.hidden_size), dtype=np.float16)
    pad = model.tokenizer.pad_token_id or 0
    batches = list(length_batches(lengths, 64, max_batch_tokens))
    for index in tqdm(batches, desc=desc, unit="batch", disable=len(batches) < 20):
        width = int(lengths[index].max())
        input_ids = torch.full((len(index), width), pad, dtype=torch.long)
        for row, i in enumerate(index):
            input_ids[row, :lengths[i]] = torch.tensor(ids[i])
        mask = (torch.arange(width)[None, :] < torch.from_numpy(lengths[index])[:, None]).long()
        hidden = model.trunk(input_ids, mask).numpy().astype(np.float16)
        for row, i in enumerate(index):
            flat[offsets[i]:offsets[i] + lengths[i]] = hidden[row, :lengths[i]]
    states = TrunkStates(flat, offsets, lengths)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, flat=flat, offsets=offsets, lengths=lengths)
    return states
