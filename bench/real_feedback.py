"""Real labelled feedback for the speed benchmarks: long product reviews and short posts.

Two public sets, each read from a git copy of a public repository (a bare git directory, e.g. made by
``git clone --mirror``) or from a CSV path given by the user, extracted once to
``$VOXLENS_CACHE_DIR/speed`` (default ``~/.cache/voxlens/speed``) with a ``provenance.json`` beside them:

- **reviews**: Women's E-Commerce Clothing Reviews (CC0 1.0; the stored copy has the first 1,499 of its
  23,486 reviews). Stars become three classes: 1–2 negative, 3 neutral, 4–5 positive; ``group`` is the
  garment class (Dresses, Knits, ...).
- **tweets**: Twitter US Airline Sentiment (14,640 tweets, CC BY-NC-SA 4.0), with their human sentiment
  labels; ``group`` is the annotated reason of a negative tweet (Late Flight, Customer Service Issue, ...).

Example:
    >>> sets = load_sets()  # doctest: +SKIP
    >>> sets["reviews"].columns.tolist()  # doctest: +SKIP
    ['text', 'label', 'group']
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Source:
    name: str
    repository: str
    commit: str
    path: str
    licence: str
    text_column: str
    label_column: str
    group_column: str


SOURCES = {
    "reviews": Source("reviews", "Littlerain09/660-BA-I", "f9279dda2b2fe322022b5da74147cf71f49031c0",
                      "Womens Clothing E-Commerce Reviews.csv", "CC0 1.0 (Women's E-Commerce Clothing Reviews)",
                      "ReviewText", "Rating", "ClassName"),
    "tweets": Source("tweets", "Anuragiitk/Twitter-US-Sentiment-Analysis", "58786bed120ea193a2a6ed6d5565c4dbbc4890a9",
                     "Tweets.csv", "CC BY-NC-SA 4.0 (Twitter US Airline Sentiment, Figure Eight)",
                     "text", "airline_sentiment", "negativereason"),
}


def cache_dir() -> Path:
    base = os.environ.get("VOXLENS_CACHE_DIR") or Path.home() / ".cache" / "voxlens"
    return Path(base) / "speed"


def mirror_git_dir(repository: str, mirror: Path) -> Path:
    """The bare git directory of ``owner/name`` under ``mirror`` (``owner+name/repo`` or ``owner+name``)."""
    folder = mirror / repository.replace("/", "+")
    return folder / "repo" if (folder / "repo").exists() else folder


def star_label(stars: int) -> str:
    """1–2 stars negative, 3 neutral, 4–5 positive."""
    return "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"


def _read_raw(source: Source, csv_path: Path | None, mirror: Path) -> bytes:
    if csv_path is not None:
        return Path(csv_path).read_bytes()
    git_dir = mirror_git_dir(source.repository, mirror)
    return subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{source.commit}:{source.path}"],
                          check=True, stdout=subprocess.PIPE).stdout


def extract(name: str, csv_path: Path | None = None, mirror: Path | None = None) -> Path:
    """Write ``<cache>/<name>.csv`` (text, label) from the source's repository or ``csv_path``."""
    source = SOURCES[name]
    mirror = Path(mirror or os.environ.get("VOXLENS_MIRROR", "/work/.mirror"))
    raw = _read_raw(source, csv_path, mirror)
    import io

    frame = pd.read_csv(io.BytesIO(raw))
    text = frame[source.text_column].astype("string")
    if name == "reviews":
        label = frame[source.label_column].map(star_label)
    else:
        label = frame[source.label_column].str.lower()
    data = pd.DataFrame({"text": text.str.strip(), "label": label}).dropna()
    data["group"] = frame.loc[data.index, source.group_column].fillna("").astype(str)
    data = data[data["text"].str.len() > 0].drop_duplicates("text").reset_index(drop=True)
    target = cache_dir() / f"{name}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(target, index=False)
    provenance_file = cache_dir() / "provenance.json"
    provenance = json.loads(provenance_file.read_text()) if provenance_file.exists() else {}
    provenance[name] = {**asdict(source), "sha256": hashlib.sha256(raw).hexdigest(),
                        "source_file": str(csv_path) if csv_path else f"{source.repository}@{source.commit}:{source.path}",
                        "rows": len(data)}
    provenance_file.write_text(json.dumps(provenance, indent=2) + "\n")
    return target


def load_sets(reviews: Path | None = None, tweets: Path | None = None, mirror: Path | None = None) -> dict[str, pd.DataFrame]:
    """Both labelled sets (columns text, label), extracted on first use."""
    out = {}
    for name, path in (("reviews", reviews), ("tweets", tweets)):
        target = cache_dir() / f"{name}.csv"
        if path is not None or not target.exists() or "group" not in pd.read_csv(target, nrows=1).columns:
            extract(name, path, mirror)
        out[name] = pd.read_csv(target, dtype={"text": str, "label": str, "group": str}, keep_default_na=False)
    return out


def provenance() -> dict:
    path = cache_dir() / "provenance.json"
    return json.loads(path.read_text()) if path.exists() else {}


def real_mix(n_long: int = 400, n_short: int = 1200, long_chars: int = 400, seed: int = 0,
             **paths) -> pd.DataFrame:
    """``n_long`` real reviews longer than ``long_chars`` and ``n_short`` real tweets, shuffled
    (columns text, label, set)."""
    sets = load_sets(**paths)
    reviews = sets["reviews"][sets["reviews"]["text"].str.len() > long_chars]
    parts = [reviews.sample(n=n_long, random_state=seed).assign(set="reviews"),
             sets["tweets"].sample(n=n_short, random_state=seed).assign(set="tweets")]
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
