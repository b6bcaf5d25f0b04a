"""The issue log through the product path, on real airline tweets: onsets, recall, precision, quiet streams.

Each seed writes a history file of real tweets (Twitter US Airline Sentiment, ``Tweets.csv``: 14,640 tweets
with crowd labels and the reason of each negative one), then runs the commands a new user runs, with the
default settings: ``voxlens import reviews``, ``voxlens analyze`` (its first run on a store with history
replays detection over every past day) and ``voxlens issues --json --all``. Streams last 60 days at ``rate``
items a day (Poisson), drawn from the tweets outside the theme; a scenario plants, from a day 1–30 days
before the last (uniform), every day to the end:

- ``burst 10%`` / ``burst 25%``: tweets whose reason is "Lost Luggage", that share of the day's volume on
  top (the background keeps the corpus' own luggage tweets);
- ``negativity``: tweets about the flight crew (``crew`` or ``attendant``) are 10% of every day; a quarter of
  them are negative before the onset and all of them after (volume unchanged);
- ``quiet``: nothing.

An issue is about the theme when at least half of its evidence tweets are theme tweets (luggage reason or
mention for bursts, crew for negativity). Recall: seeds whose log holds such an issue first flagged on or
after the onset; precision: such issues among all logged issues of planted streams; onset error: days
between its onset and the true one; quiet: issues logged per 60-day quiet stream, and seeds with none.

Embeddings are cached on disk (npy keyed by a hash of the texts), so a re-run only re-runs the product.

    python -m bench.issue_log --tweets ~/.cache/voxlens/issuelog/Tweets.csv --seeds 4 --rates 40 200 1000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

CACHE = Path.home() / ".cache" / "voxlens" / "issuelog"
SCENARIOS = ("burst 10%", "burst 25%", "negativity", "quiet")


def load_tweets(path: Path) -> pd.DataFrame:
    tweets = pd.read_csv(path)[["airline_sentiment", "negativereason", "text"]].dropna(subset=["text"])
    tweets = tweets.drop_duplicates("text").reset_index(drop=True)
    lower = tweets["text"].str.lower()
    tweets["luggage"] = (tweets["negativereason"] == "Lost Luggage") | lower.str.contains("luggage|bag")
    tweets["crew"] = lower.str.contains("crew|attendant")
    tweets["negative"] = tweets["airline_sentiment"] == "negative"
    return tweets


def stream(tweets: pd.DataFrame, scenario: str, rate: int, seed: int, days: int = 60) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """A history file's rows (text, external_id, created_at, theme) and the true onset."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2026-06-30")
    onset = end - pd.Timedelta(days=int(rng.integers(1, 31)) - 1) if scenario != "quiet" else None
    theme = "crew" if scenario == "negativity" else "luggage"
    background = tweets[~tweets["crew"]] if scenario == "negativity" else tweets
    lost = tweets[tweets["negativereason"] == "Lost Luggage"]
    crew_neg, crew_ok = tweets[tweets["crew"] & tweets["negative"]], tweets[tweets["crew"] & ~tweets["negative"]]
    rows = []
    for offset in range(days):
        day = end - pd.Timedelta(days=days - 1 - offset)
        count = int(rng.poisson(rate))
        picks = [background.index[rng.integers(len(background), size=count)]]
        if scenario.startswith("burst") and day >= onset:
            share = 0.10 if "10" in scenario else 0.25
            picks.append(lost.index[rng.integers(len(lost), size=int(rng.binomial(max(count, 1), share)))])
        if scenario == "negativity":
            themed = int(rng.binomial(max(count, 1), 0.10))
            negative = themed if day >= onset else int(rng.binomial(themed, 0.25))
            picks += [crew_neg.index[rng.integers(len(crew_neg), size=negative)],
                      crew_ok.index[rng.integers(len(crew_ok), size=themed - negative)]]
        chosen = np.concatenate(picks)
        seconds = rng.integers(0, 86400, size=len(chosen))
        for k, (index, second) in enumerate(zip(chosen, seconds)):
            rows.append({"external_id": f"{offset:02d}-{k:04d}", "text": tweets.at[index, "text"],
                         "created_at": (day + pd.Timedelta(seconds=int(second))).isoformat(),
                         "theme": bool(tweets.at[index, theme])})
    return pd.DataFrame(rows), onset


class EmbeddingCache:
    """Serve the encoder's vectors from disk (npy keyed by a hash of the texts and the encoder)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.vectors: dict[str, np.ndarray] = {}

    def install(self) -> None:
        from voxlens.sentiment import encoder

        original, cache = encoder.Encoder.encode, self

        def encode(model, texts):
            keys = [hashlib.md5(f"{model.name}\0{t}".encode()).hexdigest() for t in map(str, texts)]
            missing = sorted({k: t for k, t in zip(keys, map(str, texts)) if k not in cache.vectors}.items())
            if missing:
                fresh = original(model, [t for _, t in missing])
                cache.vectors.update({k: v for (k, _), v in zip(missing, fresh)})
            if not keys:
                return original(model, texts)
            return np.stack([cache.vectors[k] for k in keys])

        encoder.Encoder.encode = encode

    def load(self, name: str) -> None:
        path = self.folder / f"{name}.npz"
        if path.exists():
            data = np.load(path)
            self.vectors.update(zip(data["keys"], data["vectors"]))

    def save(self, name: str) -> None:
        if self.vectors:
            keys = sorted(self.vectors)
            np.savez(self.folder / f"{name}.npz", keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))


def run_product(rows: pd.DataFrame, folder: Path) -> tuple[list[dict], float]:
    """import → analyze → issues --json --all through the command line; the log and analyze's seconds."""
    from voxlens.cli import main

    history, db = folder / "history.csv", str(folder / "store.duckdb")
    rows[["external_id", "text", "created_at"]].to_csv(history, index=False)
    runner = CliRunner()
    for args in (["import", "reviews", str(history), "--db", db],):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    started = time.perf_counter()
    result = runner.invoke(main, ["analyze", "--db", db])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["issues", "--db", db, "--json", "--all"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), seconds


def score(issues: list[dict], rows: pd.DataFrame, onset: pd.Timestamp | None) -> dict:
    theme = dict(zip(rows["external_id"], rows["theme"]))
    right, first = [], None
    for issue in issues:
        ids = [e["external_id"] for e in issue["evidence"]]
        about = bool(ids) and np.mean([theme.get(str(i), False) for i in ids]) >= 0.5
        found = about and onset is not None and issue["first_flagged"] >= onset.date().isoformat()
        right.append(found)
        if found and (first is None or issue["first_flagged"] < first["first_flagged"]):
            first = issue
    error = abs((pd.Timestamp(first["onset"]) - onset).days) if first is not None else None
    return {"issues": len(issues), "correct": int(sum(right)), "found": first is not None, "onset_error": error,
            "delay": (pd.Timestamp(first["first_flagged"]) - onset).days if first is not None else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tweets", type=Path, default=CACHE / "Tweets.csv")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--rates", type=int, nargs="+", default=[40, 200, 1000])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--out", type=Path, default=CACHE / "issue_log_results.csv")
    args = parser.parse_args()
    tweets = load_tweets(args.tweets)
    cache = EmbeddingCache(CACHE)
    cache.load("embeddings")
    cache.install()
    from voxlens.sentiment.encoder import Encoder

    Encoder(progress=True).encode(tweets["text"].tolist())      # every tweet once (cached after the first run)
    cache.save("embeddings")
    results = []
    started = time.perf_counter()
    for rate in args.rates:
        for scenario in args.scenarios:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                rows, onset = stream(tweets, scenario, rate, seed=1000 * rate + seed + 7 * SCENARIOS.index(scenario))
                with tempfile.TemporaryDirectory() as folder:
                    issues, seconds = run_product(rows, Path(folder))
                cache.save("embeddings")
                result = {"rate": rate, "scenario": scenario, "seed": seed, "seconds": round(seconds, 1),
                          "onset": onset.date().isoformat() if onset is not None else None,
                          **score(issues, rows, onset)}
                results.append(result)
                print(json.dumps(result), flush=True)
                pd.DataFrame(results).to_csv(args.out, index=False)
    table = summarise(pd.DataFrame(results))
    print(table.to_string())
    print(f"total {time.perf_counter() - started:.0f} s; per-seed rows in {args.out}")


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (rate, scenario), group in results.groupby(["rate", "scenario"], sort=False):
        errors = group["onset_error"].dropna()
        planted = scenario != "quiet"
        rows.append({
            "rate": rate, "scenario": scenario, "seeds": len(group),
            "recall": round(group["found"].mean(), 2) if planted else None,
            "precision": round(group["correct"].sum() / max(group["issues"].sum(), 1), 2) if planted else None,
            "onset error ≤2 d": f"{int((errors <= 2).sum())}/{len(errors)}" if planted else None,
            "median onset error": errors.median() if len(errors) else None,
            "median delay": group["delay"].dropna().median() if planted else None,
            "issues per quiet 60 d": round(group["issues"].mean(), 2) if not planted else None,
            "quiet seeds without issue": f"{int((group['issues'] == 0).sum())}/{len(group)}" if not planted else None,
            "analyze s": round(group["seconds"].median(), 1),
        })
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
