"""Real labelled reviews from public repositories, with their provenance: read, checked, split.

Each :class:`ReviewSet` names one file of one commit of one public GitHub repository (a zip member where
the file is an archive), its sha256 and its licence. :func:`load_review_set` reads it from, in order:

1. ``data_dir`` (``--data DIR``): a copy of the file under its base name, e.g. ``DIR/klej_ar.zip``;
2. the cache ``~/.cache/voxlens/reviews/`` (filled on the first successful read);
3. a local git mirror of the repository (``$VOXLENS_MIRROR/owner+name/repo``, default ``/work/.mirror``), or
   else a fresh ``git clone`` of ``https://github.com/owner/name`` into the cache.

The bytes must match the recorded sha256, so every run reads the same data. Nothing is downloaded from a
model or dataset hub, and no data is shipped with the package.

Labels come from the sets' own ratings (:mod:`voxlens.sentiment.rating_labels`) or annotations:
PolEmo 2.0's ``plus``/``minus``/``zero`` are positive/negative/neutral and ``amb`` (ambivalent) is neutral.

Example:
    >>> sorted(REVIEW_SETS)[:2]
    ['allegro_reviews', 'clothing']
    >>> split_of("Great fit, runs small.", seed=13)
    'train'
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from voxlens.sentiment.rating_labels import rating_label

CACHE = Path.home() / ".cache" / "voxlens" / "reviews"
POLEMO_LABELS = {"__label__meta_plus_m": "positive", "__label__meta_minus_m": "negative",
                 "__label__meta_zero": "neutral", "__label__meta_amb": "neutral"}


@dataclass(frozen=True)
class ReviewSet:
    """One labelled review file: where it comes from, what it is and how it may be used."""

    name: str
    title: str
    lang: str
    repo: str
    commit: str
    path: str
    sha256: str
    licence: str
    use: str                      # "train", "selection" (chooses methods; test split scored), "evaluation"
    member: str | None = None     # a file inside a zip archive
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def provenance(self) -> dict:
        """The record written to model cards and evaluation output."""
        return {"set": self.name, "title": self.title, "lang": self.lang, "repository": self.repo,
                "commit": self.commit, "path": self.path, "member": self.member, "sha256": self.sha256,
                "licence": self.licence, "use": self.use, "notes": self.notes}


_KLEJ = dict(repo="360er0/klejbenchmark_static", commit="845a302f4b32481cf0330887b5ca8cf666e37fa4")
REVIEW_SETS: dict[str, ReviewSet] = {s.name: s for s in [
    ReviewSet("clothing", "Women's E-Commerce Clothing Reviews (1–5 stars)", "en", "Littlerain09/660-BA-I",
              "f9279dda2b2fe322022b5da74147cf71f49031c0", "Womens Clothing E-Commerce Reviews.csv",
              "55a65372b9a7a50341d0f812a75916ce43fa6ce2479fff4ca5f9926f6bc62d28", "CC0-1.0 (public domain)",
              "selection", notes="the 1,499 rows with review text of the public-domain Kaggle set (Brooks 2018) as committed "
              "in this repository (its other rows lost their text); title and text joined"),
    ReviewSet("hotels", "TripAdvisor hotel reviews (1–5 stars)", "en", "Siti-M/Analisis-Sentimen-Hotel-di-TripAdvisor",
              "cdd892baa26645027e6fe470769ea47d3a69e654", "tripadvisor_hotel_reviews.csv",
              "0fb94c2d882d3cb5689530edc8388abe1d3acd33ab7c549a26a9d1749c3ede9f", "CC BY-NC 4.0 (Alam, Ryu and Lee 2016, as distributed on Kaggle)", "evaluation",
              notes="2,000 of the 20,491 reviews, lower-cased and without most punctuation as committed; "
              "never used to train the default: the unseen domain of the tune curve"),
    ReviewSet("polemo_in", "PolEmo 2.0 (hotels and medicine reviews, KLEJ PolEmo2.0-IN)", "pl", path="static/data/klej_polemo2.0-in.zip",
              member="train.tsv", sha256="ec9ccfa232686081577e6c250c79c028411076e84db60d4cd192f9a567a2cb96", licence="CC BY-NC-SA 4.0 (PolEmo 2.0, Kocoń et al. 2019): non-commercial",
              use="train", notes="dev.tsv of the same archive is the Polish validation split", **_KLEJ),
    ReviewSet("polemo_out", "PolEmo 2.0 out of domain (products and school reviews, KLEJ PolEmo2.0-OUT dev)", "pl",
              path="static/data/klej_polemo2.0-out.zip", member="dev.tsv",
              sha256="202668a59ce18cf476a7d3a8c76a802fe1eeaa869caa687313c43246988046ba",
              licence="CC BY-NC-SA 4.0 (PolEmo 2.0, Kocoń et al. 2019): non-commercial", use="evaluation",
              notes="the held-out Polish test: never used for training or selection", **_KLEJ),
    ReviewSet("allegro_reviews", "Allegro Reviews (Polish product reviews, 1–5 stars, KLEJ AR)", "pl",
              path="static/data/klej_ar.zip", member="train.tsv",
              sha256="7c74bdb440e15c36b0a66f32500decd86f29380fc42b28752f1335de143a99fc", licence="CC BY-SA 4.0 (KLEJ, Allegro)",
              use="train", notes="dev.tsv of the same archive is part of the Polish validation split", **_KLEJ),
]}


def mirror_dir(repo: str) -> Path:
    """Where a local git mirror of ``repo`` is looked for."""
    return Path(os.environ.get("VOXLENS_MIRROR", "/work/.mirror")) / repo.replace("/", "+") / "repo"


def _git_show(repo: str, commit: str, path: str, cache: Path) -> bytes:
    git_dir = mirror_dir(repo)
    if (git_dir / ".git").is_dir():
        git_dir = git_dir / ".git"
    if not git_dir.exists():
        git_dir = cache / "git" / repo.replace("/", "+")
        if not git_dir.exists():
            subprocess.run(["git", "clone", "--bare", "--filter=blob:none", f"https://github.com/{repo}",
                            str(git_dir)], check=True, capture_output=True)
    result = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], capture_output=True)
    if result.returncode:
        raise FileNotFoundError(f"{repo}@{commit[:10]}:{path}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def read_bytes(review_set: ReviewSet, data_dir: Path | None = None, cache: Path = CACHE) -> bytes:
    """The raw file of ``review_set`` (checked against its sha256 when one is recorded)."""
    base = Path(review_set.path).name
    candidates = ([Path(data_dir) / base] if data_dir else []) + [Path(cache) / base]
    raw = next((p.read_bytes() for p in candidates if p.exists()), None)
    if raw is None:
        raw = _git_show(review_set.repo, review_set.commit, review_set.path, Path(cache))
        Path(cache).mkdir(parents=True, exist_ok=True)
        (Path(cache) / base).write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    if review_set.sha256 and digest != review_set.sha256:
        raise ValueError(f"{review_set.name}: sha256 {digest} is not the recorded {review_set.sha256}")
    return raw


def load_review_set(name: str, data_dir: Path | None = None, cache: Path = CACHE, member: str | None = None) -> pd.DataFrame:
    """``text``, ``label`` (negative/neutral/positive), ``rating`` (where the set has one) and ``set``."""
    review_set = REVIEW_SETS[name]
    raw = read_bytes(review_set, data_dir, cache)
    member = member or review_set.member
    if member:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            inner = next(n for n in archive.namelist() if n.endswith("/" + member) or n == member)
            raw = archive.read(inner)
    kind = review_set.name
    if kind == "clothing":
        frame = pd.read_csv(io.BytesIO(raw))
        title = frame["Title"].fillna("").astype(str).str.strip()
        body = frame["ReviewText"].fillna("").astype(str).str.strip()
        text = (title + ". " + body).where(title != "", body).str.strip()
        frame = pd.DataFrame({"text": text, "rating": frame["Rating"].astype(float)})
        frame = frame[body != ""]
    elif kind == "hotels":
        frame = pd.read_csv(io.BytesIO(raw)).rename(columns={"Review": "text", "Rating": "rating"})
        frame["rating"] = frame["rating"].astype(float)
    elif kind.startswith("polemo"):
        frame = pd.read_csv(io.BytesIO(raw), sep="\t", quoting=3).rename(columns={"sentence": "text"})
        frame["label"] = frame["target"].map(POLEMO_LABELS)
        frame["rating"] = float("nan")
    elif kind == "allegro_reviews":
        frame = pd.read_csv(io.BytesIO(raw), sep="\t", quoting=3)
        frame["rating"] = frame["rating"].astype(float)
    else:
        raise KeyError(name)
    if "label" not in frame:
        frame["label"] = [rating_label(r, 5) for r in frame["rating"]]
    frame["text"] = frame["text"].astype(str).str.strip()
    frame = frame[(frame["text"].str.len() > 2) & frame["label"].notna()]
    frame = frame.drop_duplicates("text").reset_index(drop=True)
    frame["set"] = name
    return frame[["text", "label", "rating", "set"]]


def split_of(text: str, seed: int = 13, validation: float = 0.1, test: float = 0.2) -> str:
    """A fixed split by a hash of the text: ``train``, ``validation`` or ``test``."""
    bucket = int(hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()[:8], 16) % 1000 / 1000
    return "test" if bucket < test else "validation" if bucket < test + validation else "train"


def provenance(names: list[str] | None = None, data_dir: Path | None = None) -> list[dict]:
    """Provenance records (with the sha256 of the bytes actually read) of the named sets."""
    out = []
    for name in names or sorted(REVIEW_SETS):
        record = REVIEW_SETS[name].provenance()
        record["sha256"] = hashlib.sha256(read_bytes(REVIEW_SETS[name], data_dir)).hexdigest()
        out.append(record)
    return out
