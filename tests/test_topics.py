"""Topic model: readable labels without stop words, seeded fits, ids that persist across runs."""

import numpy as np
import pytest

from sentiment.topics import OUTLIER, TopicModel, multilingual_stop_words

THEMES = {
    "delivery": ["the parcel delivery was late again", "late delivery and the courier never called",
                 "paczka dotarła z opóźnieniem, dostawa spóźniona"],
    "payment": ["payment fails at checkout", "the card payment was declined at checkout",
                "płatność nie działa przy kasie"],
    "tracking": ["tracking map shows the courier live", "the tracking updates are accurate",
                 "śledzenie przesyłki na mapie działa świetnie"],
}


def _corpus(themes, per_theme=60, seed=0, dim=16):
    rng = np.random.default_rng(seed)
    centres = {name: rng.normal(size=dim) for name in themes}
    texts, vectors, truth = [], [], []
    for name, sentences in themes.items():
        for k in range(per_theme):
            texts.append(sentences[k % len(sentences)])
            vectors.append(centres[name] + 0.15 * rng.normal(size=dim))
            truth.append(name)
    return texts, np.asarray(vectors, dtype=np.float32), np.asarray(truth)


def test_fit_finds_the_themes_with_readable_keyword_labels_and_no_stop_words():
    texts, vectors, truth = _corpus(THEMES)
    model = TopicModel(languages=("en", "pl"), random_state=0).fit(texts, vectors)
    assigned = model.transform(vectors)["topic_id"].to_numpy()
    assert (assigned == OUTLIER).mean() == 0
    assert len(model.topics_) == 3
    labels = {name: model.topics_[int(np.bincount(assigned[truth == name]).argmax())].label for name in THEMES}
    assert "payment" in labels["payment"] and "tracking" in labels["tracking"]
    stop = set(multilingual_stop_words(("en", "pl")))
    assert not any(word in stop for info in model.topics_.values() for word in info.keywords)


def test_the_same_seed_gives_the_same_topics():
    texts, vectors, _ = _corpus(THEMES, per_theme=50)
    first = TopicModel(random_state=3).fit(texts, vectors).transform(vectors)["topic_id"]
    second = TopicModel(random_state=3).fit(texts, vectors).transform(vectors)["topic_id"]
    assert first.tolist() == second.tolist()


def test_ids_persist_and_a_new_theme_becomes_a_new_topic():
    texts, vectors, truth = _corpus(THEMES, seed=1)
    model = TopicModel(random_state=0).fit(texts, vectors)
    before = model.transform(vectors)["topic_id"].to_numpy()
    stored = model.info()                                     # what the pipeline keeps in topic_info
    reloaded = TopicModel.from_info(stored)
    # later items of known themes keep their topic ids
    later_texts, later_vectors, later_truth = _corpus(THEMES, per_theme=10, seed=1)
    again = reloaded.transform(later_vectors)["topic_id"].to_numpy()
    for name in THEMES:
        assert set(again[later_truth == name]) == {int(np.bincount(before[truth == name]).argmax())}
    # a genuinely new theme fits no existing topic, and update() gives it a fresh id
    rng = np.random.default_rng(42)
    new_vectors = (rng.normal(size=16) * 3 + 0.15 * rng.normal(size=(30, 16))).astype(np.float32)
    new_texts = ["the app crashes when I open the parcel lockers screen"] * 30
    reloaded.min_similarity = 0.6
    assert (reloaded.transform(new_vectors)["topic_id"] == OUTLIER).all()
    new_ids = reloaded.update(new_texts, new_vectors)
    assert new_ids == [max(stored["topic_id"]) + 1]
    assert "crashes" in reloaded.topics_[new_ids[0]].keywords
    assert set(reloaded.transform(new_vectors)["topic_id"]) == set(new_ids)
    assert reloaded.transform(later_vectors)["topic_id"].tolist() == again.tolist()   # old ids unchanged


def test_stop_words_cover_every_language_given():
    words = set(multilingual_stop_words(("en", "pl", "de")))
    assert {"the", "się", "und"} <= words
    assert multilingual_stop_words(("xx",)) == []
