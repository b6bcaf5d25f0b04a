"""The store's own sentiment model: learnt from its rated items, adopted only when it beats the default.

Much feedback carries its own rating: app-store stars, review-site scores, the NPS or CSAT of the survey
answer an item comes from. :func:`rated_items` turns them into labels (the mapping is in
:mod:`voxlens.sentiment.rating_labels`); :func:`tune` adapts the default head to them, cross-validates
(the default and the adapted head on the same held-out folds), and, when the adapted head scores higher,
saves it beside the store and records it, so :func:`store_sentiment_model` (used by ``voxlens analyze``)
scores every item with it, unrated ones included. Each score records the model that made it.

Example:
    >>> from voxlens.core.store import Store
    >>> with Store(":memory:") as store:                                    # doctest: +SKIP
    ...     result = tune(store)
    ...     print(result)
    ...     model = store_sentiment_model(store)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from voxlens.core.errors import ModelError
from voxlens.core.store import Store
from voxlens.sentiment.model import SentimentModel
from voxlens.sentiment import scorers
from voxlens.sentiment.scorers import BRANCH_NAME, tuning_base
from voxlens.sentiment.rating_labels import nps_label, rating_label

META_KEY = "sentiment_model"
MIN_ITEMS = 60
MIN_PER_CLASS = 5


def rated_items(store: Store) -> pd.DataFrame:
    """Items with a label from their own rating, or else from the NPS or CSAT of their survey answer:
    ``item_id``, ``text``, ``lang``, ``label`` and ``rated_by`` (rating, nps or csat)."""
    frame = store.query(
        "SELECT i.item_id, i.text, i.lang, i.rating, i.rating_scale, r.nps, r.csat, r.csat_scale "
        "FROM items i LEFT JOIN responses r ON r.response_id = i.response_id ORDER BY i.item_id")
    labels, kinds = [], []
    plain = frame.astype(object).where(frame.notna(), None)
    for row in plain.itertuples(index=False):
        label, kind = rating_label(row.rating, row.rating_scale), "rating"
        if label is None:
            label, kind = nps_label(row.nps), "nps"
        if label is None:
            label, kind = rating_label(row.csat, row.csat_scale or 5), "csat"
        labels.append(label)
        kinds.append(kind if label is not None else None)
    frame["label"], frame["rated_by"] = labels, kinds
    frame = frame[frame["label"].notna()]
    return frame[["item_id", "text", "lang", "label", "rated_by"]].reset_index(drop=True)


@dataclass
class TuneResult:
    """What :func:`tune` measured and decided."""

    items: int
    languages: list[str]
    folds: int
    before: float | None
    after: float | None
    adopted: bool
    path: str | None = None
    reason: str = ""
    counts: dict = field(default_factory=dict)

    def __str__(self) -> str:
        if self.before is None:
            return f"not tuned: {self.reason}"
        verdict = (f"adopted: saved to {self.path}; `voxlens analyze` re-scores every item with it"
                   if self.adopted else "kept the default (the tuned model did not beat it on held-out items)")
        return (f"{self.items} rated items ({', '.join(f'{k} {v}' for k, v in self.counts.items())}), "
                f"{self.folds}-fold cross-validation, macro-F1 default {self.before:.3f} → tuned {self.after:.3f}; "
                f"{verdict}")


def model_dir(store: Store) -> Path:
    """Where a store's tuned head is saved: beside the store file."""
    if store.path in (":memory:", ""):
        raise ModelError("an in-memory store cannot keep a tuned model: open a store file")
    return Path(store.path).with_name(Path(store.path).name + ".sentiment")


def tune(store: Store, folds: int = 5, min_items: int = MIN_ITEMS, seed: int = 13, languages: tuple[str, ...] = ("en",),
         adopt: bool = True) -> TuneResult:
    """Fit the store's own sentiment head on its rated items in ``languages`` (the MiniLM head reads English)
    and adopt it when its cross-validated macro-F1 beats the default's on the same held-out items."""
    from voxlens.models.adapt import coefficients, cross_validate, fit_tuned
    from voxlens.sentiment.tuned import TunedHead, text_features

    rated = rated_items(store)
    rated = rated[rated["lang"].isin(languages)]
    counts = rated["label"].value_counts().reindex(["negative", "neutral", "positive"], fill_value=0).to_dict()
    result = TuneResult(len(rated), list(languages), folds, None, None, False, counts=counts)
    if len(rated) < min_items or min(counts.values()) < max(MIN_PER_CLASS, folds):
        result.reason = (f"{len(rated)} rated items in {', '.join(languages)} ({counts}); tuning needs at least "
                         f"{min_items}, with {max(MIN_PER_CLASS, folds)} of each label")
        return result
    base = tuning_base(progress=False)
    embeddings, base_probs = base.features(rated["text"].tolist())
    features = text_features(embeddings, base_probs)
    y = rated["label"].map(["negative", "neutral", "positive"].index).to_numpy()
    scores = cross_validate(features, base_probs, y, folds=folds, seed=seed)
    result.before, result.after = round(scores.before, 4), round(scores.after, 4)
    if not adopt or scores.after <= scores.before:
        return result
    fitted = fit_tuned(features, y, seed=seed)
    directory = model_dir(store)
    head = TunedHead(base.head, *coefficients(fitted), card={
        "name": f"tuned:{Path(store.path).name}", "version": pd.Timestamp.now("UTC").strftime("%Y%m%dT%H%M%S"),
        "base": base.name, "rated_items": len(rated),
        "labels": counts, "C": fitted.chosen_c_, "languages": list(languages),
        "cross_validation": {"folds": folds, "default_macro_f1": result.before, "tuned_macro_f1": result.after},
        "model": "class-balanced logistic regression over the default model's mean representation of the text's "
                 "pieces and its log-probabilities"})
    head.save(directory)
    store.set_meta(META_KEY, json.dumps({"path": directory.name, "languages": list(languages),
                                         "name": head.card["name"], "version": head.card["version"]}))
    result.adopted, result.path = True, str(directory)
    return result


def forget_tuned(store: Store) -> None:
    """Go back to the default model (the saved head stays on disk)."""
    store.set_meta(META_KEY, "")


def store_sentiment_model(store: Store, **kwargs) -> SentimentModel:
    """The store's sentiment model: the default, with the tuned head routed to its languages once adopted."""
    record = store.get_meta(META_KEY)
    if not record:
        return SentimentModel(**kwargs)
    info = json.loads(record)
    directory = Path(store.path).with_name(info["path"])
    if not (directory / "tuned.npz").exists():
        raise ModelError(f"the store's tuned sentiment model is missing at {directory}: run `voxlens tune` again")
    base, installed = tuned_base_name(directory), installed_base_name()
    if base.startswith(BRANCH_NAME) and base != installed:
        raise ModelError(f"the store's tuned sentiment model was fitted on {base}, but the installed default is "
                         f"{installed or 'not a branch model'}: its features differ, so run `voxlens tune --db FILE` "
                         f"again (or `voxlens tune --db FILE --reset` to score with the default)")
    routes = dict(SentimentModel().default_routes())
    routes.update({lang: str(directory) for lang in info["languages"]})
    return SentimentModel(routes=routes, **kwargs)


def tuned_base_name(directory: Path) -> str:
    """The model a tuned model was fitted on (its card's ``base``)."""
    card = directory / "card.json"
    return str(json.loads(card.read_text()).get("base", "")) if card.exists() else ""


def installed_base_name() -> str:
    """``name@version`` of the installed branch model, the base a new tuned model builds on ("" without one)."""
    directory = scorers.default_branch_dir()
    if not scorers.is_branch_dir(directory):
        return ""
    return scorers.branch_model_name(json.loads((Path(directory) / "card.json").read_text()))
