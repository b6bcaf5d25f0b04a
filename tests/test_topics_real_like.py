"""Topics of one domain's feedback: a homogeneous corpus splits into themes with clean labels.

The fixture holds 204 tweets to one (fictional) airline, in English and Polish, written like real ones:
@handles, links, the brand written without its @, repeated words, ten complaint themes.
"""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from voxlens.sentiment.topic_clusters import WardTopics
from voxlens.sentiment.topic_labels import TopicLabeller, clean_text, handle_words
from voxlens.sentiment.topics import OUTLIER, TopicModel

FIXTURE = Path(__file__).parent / "fixtures" / "topics_airline.csv"


@pytest.fixture(scope="module")
def feedback() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


def _theme_vectors(themes: pd.Series, seed: int = 0, dim: int = 32, spread: float = 0.45) -> np.ndarray:
    """Vectors as one domain gives them: all themes near one shared direction, each a little apart."""
    rng = np.random.default_rng(seed)
    domain = rng.normal(size=dim) * 3
    centres = {theme: domain + rng.normal(size=dim) for theme in sorted(themes.unique())}
    return np.stack([centres[t] + spread * rng.normal(size=dim) for t in themes]).astype(np.float32)


def _label_problems(label: str, texts: list[str]) -> list[str]:
    """What is wrong with a label: handles, URLs, numbers, a repeated word, a word in most texts."""
    words = label.replace("·", " ").split()
    problems = [w for w in words if w.startswith("@") or "http" in w or re.search(r"\d", w)]
    problems += [w for w in set(words) if words.count(w) > 1]
    brands = handle_words(texts)
    problems += [w for w in words if w in brands]
    cleaned = [set(clean_text(t).split()) for t in texts]
    problems += [w for w in set(words) if np.mean([w in c for c in cleaned]) > 0.5]
    return problems


def test_one_domain_splits_into_several_topics_with_clean_labels(feedback):
    vectors = _theme_vectors(feedback["theme"])
    model = TopicModel(random_state=0).fit(feedback["text"].tolist(), vectors, langs=feedback["lang"].tolist())
    assigned = model.transform(vectors)["topic_id"].to_numpy()
    sizes = np.bincount(assigned[assigned != OUTLIER])
    assert len(model.topics_) >= 5
    assert sizes.max() <= 0.35 * len(feedback) and (assigned == OUTLIER).mean() <= 0.05
    texts = feedback["text"].tolist()
    for info in model.topics_.values():
        assert info.keywords, info
        assert not _label_problems(info.label, texts), (info.label, _label_problems(info.label, texts))
    labels = " ".join(info.label for info in model.topics_.values())
    assert "skylarkair" not in labels and "refund refund" not in labels


def test_labels_leave_out_handles_links_brands_and_repeats(feedback):
    texts = feedback["text"].tolist()
    themes = feedback["theme"].astype("category").cat.codes.to_numpy()
    labeller = TopicLabeller(languages=("en", "pl")).fit(themes, texts)
    names = dict(enumerate(feedback["theme"].astype("category").cat.categories))
    by_theme = {names[t]: words for t, words in labeller.keywords_.items()}
    assert {"bag", "luggage", "baggage", "suitcase"} & set(by_theme["baggage"][:3])
    assert {"refund", "money"} & set(by_theme["refund"][:3])
    assert {"bagaż", "walizka", "bagażu"} & set(by_theme["bagaz"][:3])
    assert {"zwrot", "zwrotu", "pieniędzy"} & set(by_theme["zwrot"][:3])
    for theme, words in by_theme.items():
        assert not _label_problems(labeller.labels_[list(names.values()).index(theme)], texts), words
        assert len({w for term in words for w in term.split()}) == sum(len(term.split()) for term in words)
    assert clean_text("@SkyLarkAir refund refund https://x.example/r #refund") == "refund"
    assert handle_words(texts) == {"skylarkair"}


def test_a_giant_cluster_is_split_down_its_branch():
    rng = np.random.default_rng(0)
    big = rng.normal(size=(600, 16)) * 0.6 + 4.0 * np.eye(16)[0]     # one broad region ...
    small = [rng.normal(size=(40, 16)) * 0.3 + 4.0 * np.eye(16)[i] for i in range(1, 5)]   # ... and four tight
    vectors = np.vstack([big, *small])
    labels = WardTopics(random_state=0, max_topics=5, min_topics=5).fit_predict(vectors)
    sizes = np.bincount(labels)
    others = np.delete(sizes, sizes.argmax())
    assert sizes.max() <= 4 * np.median(others)
    assert len(set(labels[:600])) >= 2                        # the broad region became several topics


def test_the_same_data_and_seed_give_the_same_topics_and_labels(feedback):
    texts, langs = feedback["text"].tolist(), feedback["lang"].tolist()
    vectors = _theme_vectors(feedback["theme"], seed=4)
    first = TopicModel(random_state=7).fit(texts, vectors, langs=langs)
    second = TopicModel(random_state=7).fit(texts, vectors, langs=langs)
    assert first.transform(vectors)["topic_id"].tolist() == second.transform(vectors)["topic_id"].tolist()
    assert first.info()["label"].tolist() == second.info()["label"].tolist()


def test_a_sampled_tree_assigns_the_rest_to_the_nearest_topic():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(6, 24)) * 2
    truth = np.repeat(np.arange(6), 200)
    vectors = centres[truth] + 0.5 * rng.normal(size=(1200, 24))
    clusterer = WardTopics(random_state=0, max_fit=300)
    labels = clusterer.fit_predict(vectors)
    assert clusterer.n_topics_ == 6
    assert all(len(set(labels[truth == t])) == 1 for t in range(6))
    assert np.array_equal(labels, WardTopics(random_state=0, max_fit=300).fit_predict(vectors))


def test_persisted_topics_take_new_items_and_a_new_theme_becomes_a_topic(feedback):
    texts, langs = feedback["text"].tolist(), feedback["lang"].tolist()
    vectors = _theme_vectors(feedback["theme"])
    model = TopicModel(random_state=0, min_similarity=0.8).fit(texts, vectors, langs=langs)
    reloaded = TopicModel.from_info(model.info(), min_similarity=0.8)
    assert reloaded.transform(vectors)["topic_id"].tolist() == model.transform(vectors)["topic_id"].tolist()
    rng = np.random.default_rng(9)
    direction = rng.normal(size=vectors.shape[1]) * 3
    new_vectors = (direction + 0.3 * rng.normal(size=(25, vectors.shape[1]))).astype(np.float32)
    new_texts = [f"@SkyLarkAir the pet cabin policy changed, my dog can't fly with me {i}" for i in range(25)]
    assert (reloaded.transform(new_vectors)["topic_id"] == OUTLIER).all()
    new_ids = reloaded.update(new_texts, new_vectors, langs=["en"] * 25)
    assert new_ids == [max(model.topics_) + 1]
    assert {"pet", "dog", "cabin", "policy"} & set(reloaded.topics_[new_ids[0]].keywords)
    assert "skylarkair" not in reloaded.topics_[new_ids[0]].label


@pytest.mark.slow
def test_real_encoder_vectors_of_one_domain_split_by_theme(feedback):
    from sklearn.metrics import adjusted_mutual_info_score

    from voxlens.sentiment.encoder import Encoder

    texts, langs = feedback["text"].tolist(), feedback["lang"].tolist()
    vectors = Encoder(progress=False).encode(texts)
    model = TopicModel(random_state=0).fit(texts, vectors, langs=langs)
    assigned = model.transform(vectors)["topic_id"].to_numpy()
    sizes = np.bincount(assigned[assigned != OUTLIER])
    assert len(model.topics_) >= 5 and sizes.max() <= 0.35 * len(texts)
    assert (assigned == OUTLIER).mean() <= 0.05
    assert adjusted_mutual_info_score(feedback["theme"], assigned) >= 0.3
    for info in model.topics_.values():
        assert not _label_problems(info.label, texts), info.label
