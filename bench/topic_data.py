"""Real, human-labelled feedback sets for the topic benchmark, rebuilt from public git repositories.

Each set is read from a git directory (a clone or bare mirror of the repository named below, found under
``--mirrors`` as ``owner+name/repo``) at the recorded commit, checked against its sha256, and written to
``~/.cache/voxlens/topics/<set>.csv`` with columns ``text``, ``label`` (the human theme label) and ``lang``.
Nothing of the data is shipped with voxlens.

    python -m bench.topic_data --mirrors /work/.mirror
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path.home() / ".cache" / "voxlens" / "topics"


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    commit: str
    path: str
    sha256: str
    licence: str
    labels: str


SOURCES = [
    Source("airline", "AyushDhatwalia/Twitter-Airline-Sentiment", "97f2cfe60c6d87fd2211c2975ea29817e972ceed",
           "Tweets.csv", "4224f422a6aad17e89e898f5484ebcbc460d1df7a4896e107f61ba045bf589d2", "CC BY-NC-SA 4.0 (Figure Eight, Twitter US Airline Sentiment)",
           "negativereason of the negative tweets (9 reasons; Can't Tell and repeated texts left out)"),
    Source("banking77", "donnytk/task-specific-datasets", "2fdac0984d2f7f0a6b6e55d52bbb8f9f52350148",
           "banking_data/train.csv", "3d7ef3756cb12556fc50f1e1fc8ab0df35f3b638939c91de3e7372e8129298b6", "CC BY 4.0 (PolyAI banking77)", "intent (77 categories)"),
    Source("restaurants", "HugoBrg/sentiment_analysis", "6faefb68a0871e33b1e59f7f2d5a016bc4ed5958",
           "Restaurants_Train.xml", "c94c9e20912490fba5a8e67bfc23d9f979137605d3494e10e3036e704c5f6bcc", "SemEval-2014 Task 4 data, research use (METASHARE licence)",
           "aspect category of the sentences with exactly one (food, service, price, ambience, misc)"),
]


def _blob(mirrors: Path, source: Source) -> bytes:
    git_dir = mirrors / source.repo.replace("/", "+") / "repo"
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{source.commit}:{source.path}"],
                          check=True, capture_output=True).stdout


def airline_tweets(raw: bytes) -> pd.DataFrame:
    """All 14,640 tweets with ``sentiment``, ``reason`` (negativereason), ``airline`` and ``created``."""
    frame = pd.read_csv(io.BytesIO(raw), encoding="utf-8", encoding_errors="replace")
    return pd.DataFrame({"text": frame["text"].map(html.unescape), "sentiment": frame["airline_sentiment"],
                         "reason": frame["negativereason"].where(frame["airline_sentiment"] == "negative"),
                         "airline": frame["airline"], "created": frame["tweet_created"]})


def _airline(raw: bytes) -> pd.DataFrame:
    """The negative tweets whose reason is known (not "Can't Tell"), each text once."""
    frame = airline_tweets(raw)
    frame = frame[frame["reason"].notna() & (frame["reason"] != "Can't Tell")].drop_duplicates("text")
    return pd.DataFrame({"text": frame["text"], "label": frame["reason"], "lang": "en"})


def _banking(raw: bytes) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(raw))
    return pd.DataFrame({"text": frame["text"], "label": frame["category"], "lang": "en"})


def _restaurants(raw: bytes) -> pd.DataFrame:
    rows = []
    for sentence in ElementTree.fromstring(raw).iter("sentence"):
        categories = [c.get("category") for c in sentence.iter("aspectCategory")]
        if len(categories) == 1:
            rows.append({"text": sentence.findtext("text"), "label": categories[0], "lang": "en"})
    return pd.DataFrame(rows)


READERS = {"airline": _airline, "banking77": _banking, "restaurants": _restaurants}


def build(mirrors: Path, out: Path = CACHE) -> dict[str, dict]:
    """Write every set to ``out`` and return its provenance (also written to ``out/provenance.json``)."""
    out.mkdir(parents=True, exist_ok=True)
    provenance = {}
    for source in SOURCES:
        raw = _blob(mirrors, source)
        digest = hashlib.sha256(raw).hexdigest()
        if source.sha256 and digest != source.sha256:
            raise ValueError(f"{source.name}: sha256 {digest} differs from the recorded {source.sha256}")
        frame = READERS[source.name](raw).dropna(subset=["text", "label"]).reset_index(drop=True)
        frame.to_csv(out / f"{source.name}.csv", index=False)
        if source.name == "airline":
            airline_tweets(raw).to_csv(out / "airline_all.csv", index=False)
        provenance[source.name] = {"repository": f"https://github.com/{source.repo}", "commit": source.commit,
                                   "path": source.path, "sha256": digest, "licence": source.licence,
                                   "labels": source.labels, "rows": len(frame),
                                   "label_count": int(frame["label"].nunique())}
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2))
    return provenance


def load(name: str, out: Path = CACHE) -> pd.DataFrame:
    path = out / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run python -m bench.topic_data --mirrors DIR first")
    return pd.read_csv(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True, help="folder of owner+name/repo git dirs")
    parser.add_argument("--out", type=Path, default=CACHE)
    print(json.dumps(build(parser.parse_args().mirrors, parser.parse_args().out), indent=2))


def embeddings(texts: list[str], cache: Path | None = None) -> np.ndarray:
    """MiniLM vectors of ``texts`` (the encoder ``voxlens analyze`` uses), cached in ``cache`` (default: this
    bench's data folder) by a hash of the texts."""
    from voxlens.sentiment.encoder import Encoder

    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = (cache or CACHE) / f"embeddings-{key}.npy"
    if path.exists():
        return np.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vectors = Encoder(progress=True).encode(texts)
    np.save(path, vectors)
    return vectors


if __name__ == "__main__":
    main()
