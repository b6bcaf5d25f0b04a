"""Real labelled reviews from public repositories, with their provenance: read, checked, split.

Each :class:`ReviewSet` names one file of one commit of one public GitHub repository (a zip member where
the file is an archive), its sha256 and its licence. :func:`load_review_set` reads it from, in order:

1. ``data_dir`` (``--data DIR``): a copy of the file under its base name, e.g. ``DIR/klej_ar.zip``;
2. the cache ``~/.cache/voxlens/reviews/`` (filled on the first successful read);
3. a local git mirror of the repository (``$VOXLENS_MIRROR/owner+name/repo``, default ``/work/.mirror``), or
   else a fresh ``git clone`` of ``https://github.com/owner/name`` into the cache.

The bytes must match the recorded sha256, so every run reads the same data. Nothing is downloaded from a
model or dataset hub, and no data is shipped with the package.

Labels come from the sets' own ratings (:mod:`voxlens.sentiment.rating_labels`: on 1–5, 1–2 negative, 3
neutral, 4–5 positive; on 1–10, ≤ 4, 5–6, ≥ 7) or annotations: PolEmo 2.0's ``plus``/``minus``/``zero`` are
positive/negative/neutral and ``amb`` (ambivalent) is neutral. Every loaded set has the columns ``text``,
``label``, ``rating``, ``set`` and ``domain``, one row per distinct text; :func:`load_review_sets` joins
several (distinct texts across them) and adds each text's fixed ``split`` (:func:`split_of`).

Example:
    >>> sorted(REVIEW_SETS)[:2]
    ['airline', 'airline_seats']
    >>> split_of("Great fit, runs small.", seed=13)
    'train'
    >>> REVIEW_SETS["fine_food"].scale, REVIEW_SETS["fine_food"].domain
    (5, 'food')
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from voxlens.core.errors import InputError
from voxlens.sentiment.rating_labels import rating_label

CACHE = Path.home() / ".cache" / "voxlens" / "reviews"
POLEMO_LABELS = {"__label__meta_plus_m": "positive", "__label__meta_minus_m": "negative",
                 "__label__meta_zero": "neutral", "__label__meta_amb": "neutral"}
POLEMO_SENTENCE_LABELS = {"__label__z_plus_m": "positive", "__label__z_minus_m": "negative",
                          "__label__z_zero": "neutral", "__label__z_amb": "neutral"}


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
    scale: int | None = None      # top of the rating scale (5 or 10); None where labels are annotated
    domain: str = ""
    columns: dict = field(default_factory=dict)   # table sets: {"text": column, "rating": column}
    sep: str = ","
    file_name: str = ""           # name of the copy in ``data_dir`` and the cache (default: the path's base name)
    remove: str = ""              # a pattern removed from every text (a crawler's marker), table sets
    max_rows: int = 0             # keep at most this many distinct texts (those first by a hash of the text)
    clean: bool = True            # table sets: decode HTML and collapse white space (False: strip only, as read)

    @property
    def copy_name(self) -> str:
        """The file name a copy of this set has in ``data_dir`` and in the cache."""
        return self.file_name or Path(self.path).name

    def provenance(self) -> dict:
        """The record written to model cards and evaluation output."""
        return {"set": self.name, "title": self.title, "lang": self.lang, "domain": self.domain,
                "repository": self.repo, "commit": self.commit, "path": self.path, "member": self.member,
                "sha256": self.sha256, "licence": self.licence, "scale": self.scale, "columns": self.columns,
                "use": self.use, "notes": self.notes}


_KLEJ = dict(repo="360er0/klejbenchmark_static", commit="845a302f4b32481cf0330887b5ca8cf666e37fa4")
REVIEW_SETS: dict[str, ReviewSet] = {s.name: s for s in [
    ReviewSet("clothing", "Women's E-Commerce Clothing Reviews (1–5 stars)", "en", "Littlerain09/660-BA-I",
              "f9279dda2b2fe322022b5da74147cf71f49031c0", "Womens Clothing E-Commerce Reviews.csv",
              "55a65372b9a7a50341d0f812a75916ce43fa6ce2479fff4ca5f9926f6bc62d28", "CC0-1.0 (public domain)",
              "selection", notes="the 1,499 rows with review text of the public-domain Kaggle set (Brooks 2018) as committed "
              "in this repository (its other rows lost their text); title and text joined", scale=5, domain="clothing"),
    ReviewSet("hotels", "TripAdvisor hotel reviews (1–5 stars)", "en", "Siti-M/Analisis-Sentimen-Hotel-di-TripAdvisor",
              "cdd892baa26645027e6fe470769ea47d3a69e654", "tripadvisor_hotel_reviews.csv",
              "0fb94c2d882d3cb5689530edc8388abe1d3acd33ab7c549a26a9d1749c3ede9f", "CC BY-NC 4.0 (Alam, Ryu and Lee 2016, as distributed on Kaggle)", "evaluation",
              notes="2,000 of the 20,491 reviews, lower-cased and without most punctuation as committed; "
              "never used to train the default: the unseen domain of the tune curve", scale=5, domain="hotels"),
    ReviewSet("polemo_in", "PolEmo 2.0 (hotels and medicine reviews, KLEJ PolEmo2.0-IN)", "pl", path="static/data/klej_polemo2.0-in.zip",
              member="train.tsv", sha256="ec9ccfa232686081577e6c250c79c028411076e84db60d4cd192f9a567a2cb96", licence="CC BY-NC-SA 4.0 (PolEmo 2.0, Kocoń et al. 2019): non-commercial",
              use="train", notes="dev.tsv of the same archive is the Polish validation split", domain="hotels, medicine",
              **_KLEJ),
    ReviewSet("polemo_out", "PolEmo 2.0 out of domain (products and school reviews, KLEJ PolEmo2.0-OUT dev)", "pl",
              path="static/data/klej_polemo2.0-out.zip", member="dev.tsv",
              sha256="202668a59ce18cf476a7d3a8c76a802fe1eeaa869caa687313c43246988046ba",
              licence="CC BY-NC-SA 4.0 (PolEmo 2.0, Kocoń et al. 2019): non-commercial", use="evaluation",
              notes="the held-out Polish test: never used for training or selection", domain="products, school",
              **_KLEJ),
    ReviewSet("allegro_reviews", "Allegro Reviews (Polish product reviews, 1–5 stars, KLEJ AR)", "pl",
              path="static/data/klej_ar.zip", member="train.tsv",
              sha256="7c74bdb440e15c36b0a66f32500decd86f29380fc42b28752f1335de143a99fc", licence="CC BY-SA 4.0 (KLEJ, Allegro)",
              use="train", notes="dev.tsv of the same archive is part of the Polish validation split", scale=5,
              domain="products", **_KLEJ),
    # English rated reviews of further domains (each text's split by split_of). Only sets whose publisher states a
    # licence that allows training are "train"; those with no stated licence are "evaluation": scored, never
    # trained or chosen on.
    ReviewSet("fine_food", "Amazon Fine Food Reviews (McAuley and Leskovec 2013; the first 5,000), 1–5 stars", "en",
              "Andre-LR/Sentiment_Analyzer_Amazon_Reviews", "948e7586d2cbb64ad84e783107f6563e3344b60d", "Reviews.csv",
              "5ab8318fb59999c24fec21e4a531aecd07b63e7d6c322a5d3a5d7f252c2ed217",
              "CC0 1.0 (as SNAP's Kaggle page states; the copy carries none, its repository's MIT licence is for code)",
              "train", scale=5, domain="food", columns={"text": "Text", "rating": "Score"},
              file_name="amazon_fine_food_reviews_5000.csv",
              notes="rows Id 1–5,000 of Reviews.csv (Summary left out in this copy); HTML line breaks removed"),
    ReviewSet("airline", "Skytrax airline reviews (airlinequality.com, scraped 2015; 2,244 of 41,396), 1–10", "en",
              "ashaloganova/Skytrax", "466e415e72989b54f46514c3933a83e05d38042b", "airline.csv",
              "57e7b3ed140071ca1134131af60fb7e39a7c59107721d643b9ca6ce7fa592895",
              "CC0 1.0 dedication of the scraped collection (quankiquanki/skytrax-reviews-dataset); the terms under "
              "which Skytrax published the reviews are unknown (that repository says so); this copy carries none",
              "train", scale=10, domain="airline", columns={"text": "content", "rating": "overall_rating"},
              file_name="skytrax_airline.csv",
              notes="a 2,244-review sample of the collection's airline.csv, the only copy of it here (the original "
              "repository's airline.csv is too large for the mirror); reviews without an overall rating are left out"),
    ReviewSet("airline_seats", "Skytrax airline seat reviews (airlinequality.com, scraped 2015), 1–10", "en",
              "quankiquanki/skytrax-reviews-dataset", "bd4997cbfce42aeef9281818560e845adc5382f0", "data/seat.csv",
              "7e4945b62b5c7b650b1aad77fb87a2dc0583c5e478ffcbf09e668d5a19eac65b",
              "CC0 1.0 dedication of the scraped collection (the repository's LICENSE); the terms under which Skytrax "
              "published the reviews are unknown (its README says so)",
              "train", scale=10, domain="airline", columns={"text": "content", "rating": "overall_rating"},
              file_name="skytrax_seat.csv", notes="all 1,258 seat reviews; one without an overall rating is left out"),
    ReviewSet("clothing_full", "Women's E-Commerce Clothing Reviews (Brooks 2018; all 23,486 rows), 1–5 stars", "en",
              "MichalSzopinski00/The-Best-Classifier", "31a3d4bdcaf1499e4a8bfc74d4b935280a616d91",
              "womens-ecommerce-clothing-reviews.zip",
              "8df20eb78ef96528a1d4e0695bd36180b3afb04d53123727cf92105866cdd995",
              "CC0 1.0 (as the set's Kaggle page states, like the clothing set's; this copy carries none)", "train",
              member="Womens Clothing E-Commerce Reviews.csv", scale=5, domain="clothing",
              columns={"text": "Review Text", "title": "Title", "rating": "Rating"}, clean=False, max_rows=20000,
              file_name="womens_clothing_reviews_full.zip",
              notes="the whole set the clothing set holds 1,499 rows of (all 1,499 are in it, with the same texts and "
              "so the same splits); title and text joined and only stripped, as the clothing set's; 20,000 of its "
              "22,634 distinct texts, the first by a hash of the text"),
    ReviewSet("echo_2017", "Amazon Echo Dot 2 reviews (PromptCloud, 2017), 1–5 stars", "en",
              "diedrebrown/predictionwithalexareviews", "58e11068e2aea474f38474513c16caf464719206",
              "original_datasets/Amazon_Echo_2_Reviews.csv",
              "db2a09202ff4585129674f750445aba0644ae955b2ee7f645f06f5bef39d696c",
              "none stated in this copy (its repository's MIT licence is for code); published on Kaggle by "
              "PromptCloudHQ, whose page could not be checked here", "evaluation", scale=5, domain="smart speakers",
              columns={"text": "Review Text", "rating": "Rating"},
              notes="review text only: the titles are often Amazon's generated 'Three Stars', which give the rating away"),
    ReviewSet("alexa_2018", "Amazon Alexa reviews (2018), 1–5 stars", "en",
              "diedrebrown/predictionwithalexareviews", "58e11068e2aea474f38474513c16caf464719206",
              "original_datasets/amazon_alexa_reviews_2018.tsv",
              "3be158a4f536b96f50f38eac6e5daf9476ca506fc5f0eab8d6d7825e502ee3f4",
              "none stated in this copy (its repository's MIT licence is for code); published on Kaggle "
              "(sid321axn/amazon-alexa-reviews), whose page could not be checked here", "evaluation", scale=5,
              domain="smart speakers", columns={"text": "verified_reviews", "rating": "rating"}, sep="\t",
              notes="the 3,150 reviews of the Kaggle set, many texts repeated; echo_2017 texts it shares are kept once "
              "by load_review_sets"),
    ReviewSet("restaurants", "Zomato restaurant reviews (Hyderabad, 100 restaurants, 2019), 1–5 stars", "en",
              "BhavikaBhalani/Machine-Learning-Zomato-Restaurant-Clustering-and-Sentiment-Analysis",
              "448c66e065597513272cc6636615b6edd81fecd0", "Restaurant reviews.csv",
              "54f3e276d62ee0d7efcffa4a23363ef0c83f6b98a196a81dc804832540c5f426",
              "none stated in this copy (its repository has no licence); published on Kaggle as the Zomato "
              "restaurant reviews of Hyderabad, whose page could not be checked here", "evaluation", scale=5,
              domain="restaurants", columns={"text": "Review", "rating": "Rating"},
              file_name="zomato_hyderabad_restaurant_reviews.csv",
              notes="10,000 reviews; half stars (3.5) follow the 1–5 rule (3.5 neutral); the emoji of this copy "
              "were broken by a wrong encoding and are removed"),
    *[ReviewSet(f"app_store_{key}", f"Apple App Store reviews of {app} (2017–2021), 1–5 stars", "en",
                "Leolty/RoseMatcher", "2d730cb6dc1617b7d5824f482911bd620c27522f",
                f"dataset/{folder}/{folder.replace('Github', 'GitHub')}_Reviews_Origin.xlsx", sha256,
                "none stated (the repository has no licence; its README says the reviews were crawled from the "
                "Apple App Store in February 2022)", "evaluation", scale=5, domain="apps",
                columns={"text": "content", "title": "title", "rating": "rating"},
                file_name=f"app_store_{key}_reviews.xlsx", remove="（该条评论已经被删除）", max_rows=max_rows,
                notes="title and text joined; the crawler's mark of reviews deleted since (a Chinese phrase) is "
                "removed, their text kept" + (f"; {max_rows:,} of its distinct reviews, the first by a hash of "
                                             "the text" if max_rows else ""))
      for key, app, folder, sha256, max_rows in (
          ("teams", "Microsoft Teams", "Microsoft_Teams",
           "f3f1164daba4f38b4aeb6ff6db239604c85c767561e38975b54691ae894755c1", 0),
          ("testflight", "TestFlight", "TestFlight",
           "e0b30e0ec12a889fdcff4ee7bfa967dd5a5f6f1dbeff6aad2b8a03e57fada80f", 0),
          ("github", "GitHub", "Github", "4381f4be70bdb320a6e0a2b5d891558930f4e42b099be2a3f367c9b03ea417c1", 0),
          ("chrome", "Google Chrome", "Google_Chrome",
           "1f316b6e3fe4e733b0ec31d2b6d6732c9279569bbc0338ef4617a39b594bbfc1", 6000))],
]}

_POLEMO_CONLL = dict(repo="radoslaw9021/polish-sentiment-analyzer", commit="90302d73e35421ccc7e2ed70053bcac1fe010f70")
_POLEMO_CONLL_DIR = "data/PolEmo 2.0 Sentiment Analysis Dataset for CoNLL/dataset_conll/dataset_conll"
REVIEW_SETS.update({s.name: s for s in [
    ReviewSet(f"polemo_sentences_{domain}_{split}", f"PolEmo 2.0 sentences ({domain}, CoNLL release, {split} file)", "pl",
              path=f"{_POLEMO_CONLL_DIR}/{domain}.sentence.{split}.txt", sha256=sha256,
              licence="CC BY-NC-SA 4.0 (PolEmo 2.0, Kocoń et al. 2019): non-commercial", use="train",
              notes="each sentence of the hotel and medicine reviews with its own label (z_plus_m, z_minus_m, z_zero, "
              "z_amb; ambivalent as neutral), tokens joined again; the files do not follow KLEJ's review split, so "
              "the Polish training keeps only the sentences of its training reviews", domain=domain,
              file_name=f"polemo_{domain}.sentence.{split}.txt", extra={"format": "fasttext"}, **_POLEMO_CONLL)
    for domain, split, sha256 in (
        ("hotels", "train", "dcff8e61d166d90be40d28cea6dd4632879232eab0dee8eae0ae74fd595ebc28"),
        ("hotels", "dev", "20031ce694af034095ed181f9dca2d0c636db5bd9ecf450da1c29b2d3a724609"),
        ("hotels", "test", "6a6422a9763441695adcb3c12224789168ec5e1eea3d7b1b04a59ece4bebbb50"),
        ("medicine", "train", "83021c5763d2111593563a9af5070dcae84a7762a6215b1b5eadb48daed70e97"),
        ("medicine", "dev", "2be6db1625cc975ae83cd91fe9ce02deed45afc24023ef62f15fd6f9f225007d"),
        ("medicine", "test", "7f14cb7251c64f40b388187f47d928c15850bc9d41efeda29e46b4be277914b5"))]})
POLEMO_SENTENCE_SETS = tuple(name for name in REVIEW_SETS if name.startswith("polemo_sentences_"))

APP_STORE_SETS = ("app_store_teams", "app_store_testflight", "app_store_github", "app_store_chrome")
ENGLISH_TRAINING_SETS = ("fine_food", "airline", "airline_seats", "clothing_full")
"""English rated-review sets whose publisher states a licence that allows training (CC0); never hotels or drugs.com."""
ENGLISH_EVALUATION_SETS = ("echo_2017", "alexa_2018", "restaurants", *APP_STORE_SETS)
"""English rated-review sets with no stated licence: evaluation only (scored, never trained or chosen on)."""
ENGLISH_REVIEW_SETS = ENGLISH_TRAINING_SETS + ENGLISH_EVALUATION_SETS
"""Both, training sets first: a text in both kinds is kept once, as a training text."""


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
    base = review_set.copy_name
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
    """``text``, ``label`` (negative/neutral/positive), ``rating`` (where the set has one), ``set`` and ``domain``:
    one row per distinct text. ``frame.attrs["counts"]`` says how many rows were read and why any were left out.

    Example:
        >>> frame = load_review_set("fine_food")            # doctest: +SKIP
        >>> frame["label"].value_counts().to_dict()         # doctest: +SKIP
        {'positive': 3836, 'negative': 754, 'neutral': 393}
    """
    review_set = REVIEW_SETS[name]
    raw = read_bytes(review_set, data_dir, cache)
    member = member or review_set.member
    if member:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            inner = next(n for n in archive.namelist() if n.endswith("/" + member) or n == member)
            raw = archive.read(inner)
    return parse_review_set(review_set, raw)


def parse_review_set(review_set: ReviewSet, raw: bytes) -> pd.DataFrame:
    """The rows of one set's raw file (see :func:`load_review_set`)."""
    kind = review_set.name
    if review_set.columns:
        frame = _read_table(review_set, raw)
    elif kind == "clothing":
        frame = pd.read_csv(io.BytesIO(raw))
        title = frame["Title"].fillna("").astype(str).str.strip()
        body = frame["ReviewText"].fillna("").astype(str).str.strip()
        text = (title + ". " + body).where(title != "", body).str.strip()
        frame = pd.DataFrame({"text": text, "rating": frame["Rating"].astype(float)})
        frame = frame[body != ""]
    elif kind == "hotels":
        frame = pd.read_csv(io.BytesIO(raw)).rename(columns={"Review": "text", "Rating": "rating"})
        frame["rating"] = frame["rating"].astype(float)
    elif review_set.extra.get("format") == "fasttext":
        frame = _read_fasttext(raw, POLEMO_SENTENCE_LABELS)
    elif kind.startswith("polemo"):
        frame = pd.read_csv(io.BytesIO(raw), sep="\t", quoting=3).rename(columns={"sentence": "text"})
        frame["label"] = frame["target"].map(POLEMO_LABELS)
        frame["rating"] = float("nan")
    elif kind == "allegro_reviews":
        frame = pd.read_csv(io.BytesIO(raw), sep="\t", quoting=3)
        frame["rating"] = frame["rating"].astype(float)
    else:
        raise KeyError(kind)
    rows = len(frame)
    if "label" not in frame:
        frame["label"] = [rating_label(r, review_set.scale or 5) for r in frame["rating"]]
    frame["text"] = frame["text"].fillna("").astype(str).str.strip()
    frame = frame[(frame["text"].str.len() > 2) & frame["label"].notna()]
    kept = len(frame)
    frame = frame.drop_duplicates("text").reset_index(drop=True)
    distinct = len(frame)
    if review_set.max_rows and distinct > review_set.max_rows:
        order = frame["text"].map(lambda t: hashlib.sha256(t.encode()).hexdigest()).sort_values(kind="stable")
        frame = frame.loc[order.index[:review_set.max_rows]].sort_index().reset_index(drop=True)
    frame["set"] = review_set.name
    frame["domain"] = review_set.domain
    frame = frame[["text", "label", "rating", "set", "domain"]]
    frame.attrs["counts"] = {"rows": rows, "no_text_or_rating": rows - kept, "repeated_text": kept - distinct,
                             "over_max_rows": distinct - len(frame), "kept": len(frame)}
    return frame


_TAG = re.compile(r"<\s*br\s*/?\s*>|<\s*/?\s*p\s*>", re.IGNORECASE)
_BROKEN = re.compile("[?\ufffd]*\ufffd[?\ufffd]*")    # bytes that were not UTF-8 (mis-encoded emoji), with their '?'


def clean_text(text: str) -> str:
    """HTML entities decoded; line-break tags, undecodable characters and runs of white space made single spaces.

    Example:
        >>> clean_text("Tasty &amp; cheap.<br />Go!")
        'Tasty & cheap. Go!'
    """
    return " ".join(_BROKEN.sub(" ", _TAG.sub(" ", html.unescape(text))).split())


_LABEL_AT_END = re.compile(r"^(.*?)\s+(__label__\S+)\s*$")
_SPACE_BEFORE = re.compile(r"\s+([,.;:!?%)\]}…])")
_SPACE_AFTER = re.compile(r"([(\[{])\s+")
_QUOTED = re.compile(r'"\s*([^"]*?)\s*"')


def detokenised(text: str) -> str:
    """A tokenised sentence as it was written: no space before closing punctuation or after an opening
    bracket, none inside quotes.

    >>> detokenised('Pokój ( z widokiem ) był " super " , polecam !')
    'Pokój (z widokiem) był "super", polecam!'
    """
    text = _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))
    return _QUOTED.sub(r'"\1"', text).strip()


def _read_fasttext(raw: bytes, labels: dict[str, str]) -> pd.DataFrame:
    """``text`` and ``label`` of a fastText-style file (one tokenised sentence per line, ``__label__x`` last); a
    line without a known label gets none, so it is counted as left out."""
    rows = [(match.groups() if (match := _LABEL_AT_END.match(line)) else (line, ""))
            for line in raw.decode("utf-8").splitlines() if line.strip()]
    return pd.DataFrame({"text": [detokenised(text) for text, _ in rows],
                         "label": [labels.get(tag) for _, tag in rows], "rating": float("nan")})


def _read_table(review_set: ReviewSet, raw: bytes) -> pd.DataFrame:
    """A CSV/TSV set named by its ``columns``: ``text`` and a numeric ``rating`` on the set's ``scale``."""
    if review_set.path.endswith(".xlsx"):
        try:
            table = pd.read_excel(io.BytesIO(raw), dtype=str).fillna("")
        except ImportError as error:
            raise ImportError(f"{review_set.name} is an Excel file: pip install openpyxl "
                              "(in voxlens[train])") from error
    else:
        text = raw.decode("utf-8-sig", errors="replace")    # a few copies hold bytes that are not UTF-8
        table = pd.read_csv(io.StringIO(text), sep=review_set.sep, dtype=str, keep_default_na=False)
    columns = review_set.columns
    missing = [c for c in columns.values() if c not in table.columns]
    if missing:
        raise InputError(f"{review_set.name}: no column {missing} in {review_set.copy_name} "
                         f"(columns: {list(table.columns)})")
    tidy = clean_text if review_set.clean else str.strip
    body = table[columns["text"]]
    if review_set.remove:
        body = body.str.replace(review_set.remove, " ", regex=True)
    body = body.map(tidy)
    text = body
    if "title" in columns:     # a user's own title, joined to the text as the clothing reviews' are
        title = table[columns["title"]].map(tidy)
        text = (title + ". " + body).where((title != "") & (body != ""), body)
    rating = pd.to_numeric(table[columns["rating"]].str.strip(), errors="coerce")
    if review_set.scale:
        rating = rating.where((rating >= 1) & (rating <= review_set.scale))
    return pd.DataFrame({"text": text, "rating": rating.astype(float)})


def load_review_sets(names: tuple[str, ...] | list[str] = ENGLISH_TRAINING_SETS, data_dir: Path | None = None,
                     cache: Path = CACHE, seed: int = 13) -> pd.DataFrame:
    """Several sets in one frame, each text once (the first set that has it keeps it), with its ``split`` and its
    set's ``use`` (``train``, or ``evaluation`` for the sets with no stated licence).

    Example:
        >>> from voxlens.models.review_data import load_review_sets
        >>> train = load_review_sets().query("split == 'train'")   # doctest: +SKIP
    """
    frames = [load_review_set(name, data_dir, cache) for name in names]
    frame = pd.concat(frames, ignore_index=True).drop_duplicates("text").reset_index(drop=True)
    frame["split"] = [split_of(text, seed=seed) for text in frame["text"]]
    frame["use"] = frame["set"].map(lambda name: REVIEW_SETS[name].use)
    return frame


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


def label_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Reviews per use, domain, split and label of a :func:`load_review_sets` frame (with totals per use)."""
    splits = ["train", "validation", "test"]
    parts = []
    for use, part in frame.groupby("use", sort=False):
        table = (part.groupby(["domain", "split", "label"]).size().unstack("label", fill_value=0)
                 .reindex(columns=["negative", "neutral", "positive"], fill_value=0))
        table = table.reindex(sorted(table.index, key=lambda k: (k[0], splits.index(k[1]))))
        table["total"] = table.sum(axis=1)
        table.loc[("all", "all"), :] = table.sum(axis=0)
        parts.append(table.astype(int).reset_index().assign(use=use))
    table = pd.concat(parts, ignore_index=True)
    return table[["use"] + [c for c in table.columns if c != "use"]]


def main(argv: list[str] | None = None) -> None:
    """Read the English rated-review sets (fetching them where needed) and print their counts and provenance."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", type=Path, default=None, help="directory holding copies of the review files")
    parser.add_argument("--sets", nargs="*", default=list(ENGLISH_REVIEW_SETS))
    args = parser.parse_args(argv)
    frame = load_review_sets(args.sets, args.data)
    table = label_counts(frame)
    print("| " + " | ".join(table.columns) + " |\n|---|---|---|" + "---:|" * (len(table.columns) - 3))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")
    print("\nper set: " + ", ".join(f"{k} {v}" for k, v in frame.groupby("set", sort=False).size().items()))
    print("\ndata: " + json.dumps([{k: r[k] for k in ("set", "use", "repository", "commit", "path", "sha256", "licence")}
                                   for r in provenance(args.sets, args.data)], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
