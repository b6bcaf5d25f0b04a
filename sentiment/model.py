"""Three-class sentiment (negative, neutral, positive) with probabilities and a score in [-1, 1].

The default English model is MiniLM's first layers (frozen) with a fine-tuned branch of transformer layers
and a calibrated head on top (``models/sentiment_branch/``, run by :mod:`voxlens.sentiment.branch_runtime`);
without that artefact, the earlier frozen-MiniLM head (``models/previous/sentiment_head_v3/``). Any Hugging
Face sequence-classification checkpoint can replace it or be routed to by language. Long texts are scored
in pieces (windows of sentences, or sentences) and aggregated, so a long review is not judged by its first lines.
:class:`SentimentModel` routes each language to a scorer of :mod:`voxlens.sentiment.scorers`.

Example:
    >>> from voxlens.sentiment import SentimentModel
    >>> SentimentModel().predict(["I love it", "Awful support"])[["label"]]  # doctest: +SKIP
          label
    0  positive
    1  negative
    >>> SentimentModel(routes={"en": "default", "pl": "/models/polish-sentiment"})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.ngram import is_ngram_dir
from voxlens.sentiment.scorers import (BRANCH_NAME, DEFAULT, DEFAULT_HEAD, LABELS, PUBLIC_COLUMNS, BranchScorer,
                                       HeadScorer, SentimentHead, TunedScorer, TuningBase, build_scorer,
                                       default_branch_dir, default_polish_dir, default_scorer,
                                       frame_from_probabilities, is_branch_dir, previous_head_dir, tuning_base)
from voxlens.sentiment.segments import fold, piece_positions, scoring_segments, split_sentences
from voxlens.core.errors import ModelError

__all__ = [    # the scorers' names stay importable from here
    "ANY_LANGUAGE", "BRANCH_NAME", "DEFAULT", "DEFAULT_HEAD", "LABELS", "PUBLIC_COLUMNS", "BranchScorer",
    "HeadScorer", "SentimentHead", "SentimentModel", "TunedScorer", "TuningBase", "build_scorer",
    "default_branch_dir", "default_polish_dir", "default_routes", "default_scorer", "frame_from_probabilities",
    "is_branch_dir", "previous_head_dir", "tuning_base",
]

ANY_LANGUAGE = "*"


def default_routes() -> dict[str, str | None]:
    """The offline default: English through MiniLM + head, Polish through the shipped n-gram model."""
    routes: dict[str, str | None] = {"en": None}
    if is_ngram_dir(default_polish_dir()):
        routes["pl"] = str(default_polish_dir())
    return routes


class SentimentModel:
    """Score texts as negative / neutral / positive, per language.

    Args:
        model: the model for every covered language: None (the offline default, which covers English and
            Polish: :func:`default_routes`),
            a Hugging Face checkpoint name or local directory (taken to cover every language), or a
            directory holding a trained head (``head.npz`` + ``card.json``).
        routes: language code → model (``"default"`` or None is the offline default), e.g.
            ``{"en": "default", "pl": "/models/polish"}``; ``"*"`` matches any other language.
            Overrides ``model``'s coverage.
        uncovered: for an item in a language no route covers: ``"fallback"`` scores it with the English
            (or ``"*"``) model and sets ``covered`` False; ``"skip"`` leaves label and scores empty.
        long_text_chars: texts longer than this are scored per sentence and aggregated.
        batch_size: texts per forward pass.
        progress: show a progress bar (default: only for long inputs).
        quantize: int8 weights for the encoder of the default model (its card's recipe; a text whose
            probabilities lie near a class boundary is scored again in fp32) and of trained heads (each
            layer's feed-forward output kept fp32): the default, faster on CPU at about half a macro-F1 point
            or less on real reviews and tweets (``bench/score_throughput.py``); False runs the exact fp32 encoder.

    Example:
        >>> model = SentimentModel(routes={"en": "default"})
        >>> model.covers("en"), model.covers("pl")
        (True, False)
    """

    def __init__(self, model: str | None = None, routes: Mapping[str, str | None] | None = None,
                 uncovered: str = "fallback", long_text_chars: int = 400, batch_size: int = 64,
                 progress: bool | None = None, quantize: bool = True) -> None:
        self.model = model
        self.routes = routes
        self.uncovered = uncovered
        self.long_text_chars = long_text_chars
        self.batch_size = batch_size
        self.progress = progress
        self.quantize = quantize

    # -- configuration ------------------------------------------------------------------------
    def _routes(self) -> dict[str, str | None]:
        if self.routes:
            return {lang: (None if spec in (None, DEFAULT) else spec) for lang, spec in self.routes.items()}
        if self.model is None or self.model == DEFAULT:
            return default_routes()
        return {ANY_LANGUAGE: self.model}

    def default_routes(self) -> dict[str, str | None]:
        """The routes of the offline default model (see :func:`default_routes`)."""
        return default_routes()

    def covers(self, lang: str) -> bool:
        """Whether a configured model covers the language code ``lang``."""
        routes = self._routes()
        return lang in routes or ANY_LANGUAGE in routes

    def _scorer(self, spec: str | None):
        scorers = self.__dict__.setdefault("scorers_", {})
        key = spec or DEFAULT
        if key not in scorers:
            scorers[key] = build_scorer(spec, self.batch_size, self.progress, self.quantize)
        return scorers[key]

    def _route(self, lang: str) -> tuple[str | None, bool] | None:
        routes = self._routes()
        if lang in routes:
            return routes[lang], True
        if ANY_LANGUAGE in routes:
            return routes[ANY_LANGUAGE], True
        if self.uncovered == "skip":
            return None
        if self.uncovered != "fallback":
            raise ModelError(f"uncovered={self.uncovered!r}: use 'fallback' or 'skip'")
        return routes.get("en", next(iter(routes.values()))), False

    @property
    def name(self) -> str:
        """The identifier stored beside every score (so a model change re-scores)."""
        routes = self._routes()
        if routes == {"en": None}:
            return self._scorer(None).name
        return ";".join(f"{lang}={self._scorer(spec).name}" for lang, spec in sorted(routes.items()))

    # -- scoring --------------------------------------------------------------------------------
    def _proba(self, scorer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Text probabilities (long texts aggregated over sentences) and each text's sentence count.

        The segments of all texts (whole short texts, sentences of long ones) go to the scorer in one
        call, so the encoder batches sentences of many texts together by length."""
        if getattr(scorer, "whole_text", False):    # a model trained on whole reviews reads them whole
            return scorer.predict_proba(texts), np.ones(len(texts), dtype=int)
        segments = [self._segments(scorer, t) for t in texts]
        flat = [s for group in segments for s in group]
        counts = np.array([len(g) for g in segments], dtype=int)
        if not flat:
            flat_probs = np.zeros((0, 3))
        elif isinstance(scorer, BranchScorer):          # its int8 path settles near-boundary texts in fp32
            flat_probs = scorer.predict_proba(flat, groups=counts)
        else:
            flat_probs = scorer.predict_proba(flat)
        return self._fold(scorer, segments, flat_probs), counts

    def _segments(self, scorer, text: str) -> list[str]:
        """The pieces ``scorer`` reads of one text (its own cut when it has one, else sentences of long texts)."""
        cut = getattr(scorer, "segments", None)
        return cut(text) if cut else scoring_segments(text, self.long_text_chars)

    def _fold(self, scorer, segments: list[list[str]], flat_probs: np.ndarray) -> np.ndarray:
        """One probability row per text from the rows of its segments (in order)."""
        return fold(segments, flat_probs, recency=float(getattr(scorer, "recency", 0.0)))

    def _languages(self, texts: list[str], langs: Sequence[str] | None) -> list[str]:
        if langs is not None:
            if len(langs) != len(texts):
                raise ModelError(f"got {len(langs)} language codes for {len(texts)} texts")
            return [str(lang) if lang else "und" for lang in langs]
        if set(self._routes()) == {ANY_LANGUAGE}:
            return ["und"] * len(texts)
        from voxlens.sentiment.language import detect_languages

        return detect_languages(texts)

    def predict(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per text, in order.

        Columns: ``label``, ``score`` in [-1, 1] (p_positive - p_negative), ``p_negative``,
        ``p_neutral``, ``p_positive``, ``lang`` (detected unless ``langs`` is given), ``covered`` (a
        configured model covers the language), ``model`` (the scorer's id) and ``sentences`` (how many
        sentences were scored and aggregated).
        """
        texts = [str(t) for t in texts]
        langs = self._languages(texts, langs)
        probs = np.full((len(texts), 3), np.nan)
        covered = np.zeros(len(texts), dtype=bool)
        used: list[str | None] = [None] * len(texts)
        counts = np.zeros(len(texts), dtype=int)
        groups: dict[str | None, list[int]] = {}
        route_of = {lang: self._route(lang) for lang in set(langs)}      # once per language, not per text
        for i, lang in enumerate(langs):
            route = route_of[lang]
            if route is None:
                continue
            spec, covered[i] = route
            groups.setdefault(spec, []).append(i)
        for spec, index in groups.items():
            scorer = self._scorer(spec)
            probs[index], counts[index] = self._proba(scorer, [texts[i] for i in index])
            for i in index:
                used[i] = scorer.name
        frame = frame_from_probabilities(probs)
        frame["lang"] = langs
        frame["covered"] = covered
        frame["model"] = used
        frame["sentences"] = counts
        return frame

    def predict_sentences(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per sentence: ``text_index``, ``sentence_index``, ``sentence`` and the predict columns."""
        texts = [str(t) for t in texts]
        langs = self._languages(texts, langs)
        rows = [(i, j, sentence, langs[i]) for i, text in enumerate(texts)
                for j, sentence in enumerate(split_sentences(text))]
        if not rows:
            return pd.DataFrame(columns=["text_index", "sentence_index", "sentence", *PUBLIC_COLUMNS,
                                         "lang", "covered", "model"])
        frame = pd.DataFrame(rows, columns=["text_index", "sentence_index", "sentence", "lang"])
        scored = SentimentModel(self.model, self.routes, self.uncovered, long_text_chars=10**9,
                                batch_size=self.batch_size, progress=self.progress, quantize=self.quantize)
        scored.__dict__["scorers_"] = self.__dict__.setdefault("scorers_", {})
        result = scored.predict(frame["sentence"].tolist(), langs=frame["lang"].tolist())
        return pd.concat([frame[["text_index", "sentence_index", "sentence"]],
                          result.drop(columns=["sentences"])], axis=1)

    def predict_proba(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        """(n, 3) probabilities in the order negative, neutral, positive."""
        return self.predict(texts, langs)[["p_negative", "p_neutral", "p_positive"]].to_numpy()

    # -- shared embeddings (a pipeline embeds each text once for sentiment and topics) ---------------
    def _embedding_spec(self) -> tuple[bool, str | None]:
        """(found, spec) of the one route scored by an encoder + head (others read the text)."""
        specs = [spec for spec in dict.fromkeys(self._routes().values())
                 if isinstance(self._scorer(spec), (HeadScorer, BranchScorer))]
        return (True, specs[0]) if len(specs) == 1 else (False, None)

    def embedding_encoder(self) -> Encoder | None:
        """The encoder whose vectors :meth:`predict_embeddings` scores, or None when scores need the text.

        Only a model with exactly one encoder + head route can score from vectors, and only the items
        :meth:`embedding_route` accepts; texts longer than ``long_text_chars`` still need :meth:`predict`
        (they are scored per sentence).
        """
        found, spec = self._embedding_spec()
        if not found:
            return None
        return self._scorer(spec).topic_encoder()

    def embedding_route(self, lang: str) -> bool:
        """Whether an item in ``lang`` is scored by the encoder + head route (so from its vector)."""
        found, spec = self._embedding_spec()
        route = self._route(str(lang) if lang else "und")
        return found and route is not None and route[0] == spec

    def predict_embeddings(self, embeddings: np.ndarray) -> pd.DataFrame:
        """The :data:`PUBLIC_COLUMNS` of :meth:`predict` from vectors of :meth:`embedding_encoder`
        (whole short texts of the languages :meth:`embedding_route` accepts)."""
        if self.embedding_encoder() is None or isinstance(self._scorer(self._embedding_spec()[1]), BranchScorer):
            raise ModelError("this model scores text, not embeddings: call predict()")
        spec = self._embedding_spec()[1]
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if not len(embeddings):
            return frame_from_probabilities(np.zeros((0, 3)))
        return frame_from_probabilities(self._scorer(spec).head_.predict_proba(embeddings).astype(np.float64))

    def predict_and_embed(self, texts: Sequence[str],
                          langs: Sequence[str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """:meth:`predict`'s probability columns and ``sentences``, and one unit vector per text, from one
        encoder call (a pipeline's sentiment and topics share it, so no text is tokenised or encoded twice).

        A short text is encoded once and its vector serves both. A long text is scored sentence by sentence
        and its topic vector is its whole-text embedding, in the same length-sorted batches as the
        sentences (pooling the sentence vectors instead lost topic quality on real reviews, see
        docs/performance.md). Texts of a language another route scores (the Polish n-gram model, say) are
        scored from their text by that route and only embedded here. Needs a model with one encoder + head
        route (:meth:`embedding_encoder`).

        Example:
            >>> scores, vectors = SentimentModel().predict_and_embed(["Great app", "Slow refund"])  # doctest: +SKIP
            >>> vectors.shape  # doctest: +SKIP
            (2, 384)
        """
        encoder = self.embedding_encoder()
        if encoder is None:
            raise ModelError("this model scores text, not embeddings: call predict() and embed separately")
        scorer = self._scorer(self._embedding_spec()[1])
        texts = [str(t) for t in texts]
        langs = self._languages(texts, langs)
        if isinstance(scorer, BranchScorer):
            return self._branch_predict_and_embed(scorer, texts, langs)
        shared_route = {lang: not getattr(scorer, "whole_text", False) and self.embedding_route(lang)
                        for lang in set(langs)}
        from_vectors = np.array([shared_route[lang] for lang in langs], dtype=bool)
        segments = [scoring_segments(t, self.long_text_chars) if shared else [t]
                    for t, shared in zip(texts, from_vectors)]
        flat = [s for group in segments for s in group]
        counts = np.array([len(g) for g in segments], dtype=int)
        if not flat:
            frame = frame_from_probabilities(np.zeros((0, 3)))
            frame["sentences"] = counts
            return frame, np.zeros((0, encoder.dimension), dtype=np.float32)
        split = np.flatnonzero([len(g) > 1 or g[0] != t for g, t in zip(segments, texts)])
        vectors = encoder.encode(flat + [texts[i] for i in split])
        probs = np.zeros((len(texts), 3))
        starts = np.cumsum(counts) - counts
        shared_index = np.flatnonzero(from_vectors)
        if len(shared_index):
            rows = piece_positions(counts, shared_index)
            flat_probs = scorer.head_.predict_proba(vectors[rows]).astype(np.float64)
            probs[shared_index] = self._fold(scorer, [segments[i] for i in shared_index], flat_probs)
        rest = np.flatnonzero(~from_vectors)
        if len(rest):
            predicted = self.predict([texts[i] for i in rest], langs=[langs[i] for i in rest])
            probs[rest] = predicted[["p_negative", "p_neutral", "p_positive"]].to_numpy(dtype=np.float64)
            counts[rest] = predicted["sentences"].to_numpy()
        text_vectors = vectors[starts]          # a whole text's only segment
        text_vectors[split] = vectors[len(flat):]
        frame = frame_from_probabilities(probs)
        frame["sentences"] = counts
        return frame, text_vectors

    def _branch_predict_and_embed(self, scorer: BranchScorer, texts: list[str],
                                  langs: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        """:meth:`predict_and_embed` for the branch model: one call of its runtime, where a short text runs
        the shared graph once (trunk, then topic layers and branch), a long text's windows run the sentiment
        graph and its whole text the topic encoder; texts of other routes are only embedded."""
        route = {lang: self.embedding_route(lang) for lang in set(langs)}
        mine = np.array([route[lang] for lang in langs], dtype=bool)
        segments = [scorer.segments(t) if own else [] for t, own in zip(texts, mine)]
        counts = np.array([len(group) for group in segments], dtype=int)
        index = np.flatnonzero(mine)
        features, vectors = scorer.encoder_.run([s for group in segments for s in group], texts,
                                                groups=counts[index])
        probs = np.zeros((len(texts), 3))
        if len(index):
            flat_probs = scorer.head_.predict_proba(features).astype(np.float64)
            probs[index] = self._fold(scorer, [segments[i] for i in index], flat_probs)
        rest = np.flatnonzero(~mine)
        if len(rest):
            predicted = self.predict([texts[i] for i in rest], langs=[langs[i] for i in rest])
            probs[rest] = predicted[["p_negative", "p_neutral", "p_positive"]].to_numpy(dtype=np.float64)
            counts[rest] = predicted["sentences"].to_numpy()
        frame = frame_from_probabilities(probs)
        frame["sentences"] = counts
        return frame, vectors
