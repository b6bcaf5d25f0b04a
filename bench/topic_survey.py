"""What stands on topics, re-measured through the CLI on real tweets: ``voxlens drivers`` and ``voxlens topics``.

Two files are written from the airline tweets (``python -m bench.topic_data`` first) and run through
``voxlens import`` + ``voxlens analyze`` with the defaults:

- a survey of 1,500 answers whose free text is a real tweet and whose NPS follows the tweet's human
  labels: promoters for positive tweets (9–10), passives for neutral ones (7–8), and for negative ones a
  score by the complaint: lost or damaged luggage 0–2, cancelled flight 1–4, other reasons 3–6.
  Baggage is planted as the theme that drags NPS down most, so a baggage topic should lead the drivers;
- a stream of all tweets to one airline (United, 3,822 tweets over 9 days), as ``voxlens import reviews``.

    python -m bench.topic_survey --out /tmp/voxlens-topics
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bench.topic_data import CACHE

NPS_BY_REASON = {"Lost Luggage": (0, 3), "Damaged Luggage": (0, 3), "Cancelled Flight": (3, 7)}
OTHER_NEGATIVE = (5, 8)


def survey(tweets: pd.DataFrame, size: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Survey answers: ``submitted_at``, ``nps`` from the tweet's labels, ``text`` the tweet."""
    rng = np.random.default_rng(seed)
    picked = tweets.sample(n=size, random_state=seed).reset_index(drop=True)
    low_high = [(9, 10) if s == "positive" else (7, 8) if s == "neutral" else NPS_BY_REASON.get(r, OTHER_NEGATIVE)
                for s, r in zip(picked["sentiment"], picked["reason"])]
    nps = [int(rng.integers(low, high + 1)) for low, high in low_high]
    days = pd.Timestamp("2026-07-01") + pd.to_timedelta(rng.integers(0, 60, size=size), unit="D")
    return pd.DataFrame({"submitted_at": days.strftime("%Y-%m-%d"), "nps": nps, "text": picked["text"],
                         "reason": picked["reason"].fillna(picked["sentiment"])})


def stream(tweets: pd.DataFrame, airline: str = "United") -> pd.DataFrame:
    frame = tweets[tweets["airline"] == airline]
    created = pd.to_datetime(frame["created"], format="%d-%m-%Y %H.%M", errors="coerce")
    return pd.DataFrame({"text": frame["text"], "created_at": created.dt.strftime("%Y-%m-%d %H:%M")})


def voxlens(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "voxlens", *args], capture_output=True, text=True, check=True)
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the files and the stores")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    tweets = pd.read_csv(CACHE / "airline_all.csv")
    answers = survey(tweets)
    answers.drop(columns="reason").to_csv(out / "survey.csv", index=False)
    stream(tweets).to_csv(out / "united.csv", index=False)
    print("mean NPS answer by complaint:", answers.groupby("reason")["nps"].mean().round(1).to_dict())
    for name, kind in (("survey", "survey"), ("united", "reviews")):
        db = str(out / f"{name}.duckdb")
        Path(db).unlink(missing_ok=True)
        print(voxlens("import", kind, str(out / f"{name}.csv"), "--db", db).strip())
        print(voxlens("analyze", "--db", db).strip())
        print(f"\n$ voxlens topics --db {name}.duckdb --format csv")
        print(voxlens("topics", "--db", db, "--format", "csv"))
        if name == "survey":
            print(f"$ voxlens drivers --target nps --db {name}.duckdb --format csv")
            print(voxlens("drivers", "--target", "nps", "--db", db, "--format", "csv"))


if __name__ == "__main__":
    main()
