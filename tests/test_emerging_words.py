"""Words in the similar-items scan: a theme told in one word is found even where embeddings scatter it."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from voxlens.metrics.emerging import IssueDetector
from voxlens.metrics.emerging_scan import scan_similar, word_sets

DAYS = pd.date_range("2026-03-02", periods=35, freq="D")
SYLLABLES = "ka po strze łą ni dro we mo ba tu ser cha ży pi lo ven".split()
FILLER = np.array([a + b for a in SYLLABLES for b in SYLLABLES])          # 256 made-up words, Polish letters too
USE = 1 / np.arange(1, len(FILLER) + 1) / np.sum(1 / np.arange(1, len(FILLER) + 1))   # Zipf: some common, most rare


def stream(seed: int, planted_per_day: int = 0, daily: int = 60, word: str = "zwrotu"):
    """Items of made-up words on random vectors and topics; planted ones mention ``word``, nothing else ties them."""
    rng = np.random.default_rng(seed)
    days = np.repeat(DAYS, daily)
    texts = [" ".join(rng.choice(FILLER, size=8, p=USE)) for _ in days]
    uses = rng.random(len(days)) < 0.02                     # the word's background rate: about 1 item a day
    texts = [f"{t} {word}" if u else t for t, u in zip(texts, uses)]
    if planted_per_day:
        extra = np.repeat(DAYS[-2:], planted_per_day)
        days = np.concatenate([days, extra])
        texts += [f"{' '.join(rng.choice(FILLER, size=7, p=USE))} {word}" for _ in extra]
    items = pd.DataFrame({"item_id": [f"i{n}" for n in range(len(days))], "created_at": days,
                          "topic_id": rng.integers(0, 10, size=len(days)), "negative": rng.random(len(days)) < 0.3,
                          "text": texts})
    return items, rng.normal(size=(len(days), 16))


def test_a_polish_word_whose_items_jump_is_one_issue_naming_it():
    items, vectors = stream(seed=3, planted_per_day=8)    # 8 more a day for 2 days, on random topics and vectors
    detector = IssueDetector(scan_word_share=0.005)

    assert detector.detect(items.drop(columns="text"), embeddings=vectors).empty
    issues = detector.detect(items, embeddings=vectors)

    assert len(issues) == 1
    issue = issues.iloc[0]
    assert issue["summary"].startswith("similar items up (mentioning 'zwrot') across topics")
    assert issue["window_start"] == DAYS[-2].date()
    planted = set(items["item_id"].iloc[len(DAYS) * 60:])
    assert len(set(issue["evidence"]) & planted) >= 4
    assert detector.detect(items).iloc[0]["summary"] == issue["summary"]    # words alone, without embeddings
    assert detector.detect(items, embeddings=vectors).equals(IssueDetector().detect(items, embeddings=vectors))
    assert IssueDetector(scan_word_share=0).detect(items, embeddings=vectors).empty    # neighbourhoods only


def test_quiet_streams_rarely_raise_a_word():
    """Calibration: the shuffles of days cover every word scanned, as they cover the neighbourhoods."""
    alarms = []
    for seed in range(30):
        items, _ = stream(seed)
        sets, words = word_sets(items["text"], min_items=10)
        alarms.append(bool(scan_similar(None, items["created_at"], windows=(1, 2, 3, 7), alpha=0.05,
                                        word_sets=sets, words=words, random_state=seed)))
    assert sum(alarms) <= 4     # 1.5 expected; 5 or more would happen with probability 0.02 if calibrated


def test_every_item_using_a_word_counts_whichever_items_the_scan_draws_as_centres():
    """Centres count too: at 60 items a day about 100 centres are half the last 3 days' items, and none is lost."""
    items, vectors = stream(seed=3, planted_per_day=8)
    sets, words = word_sets(items["text"], min_items=11)
    uses = items["text"].str.endswith(" zwrotu").to_numpy()
    for random_state in range(4):
        found = scan_similar(vectors, items["created_at"], windows=(1, 2, 3, 7), alpha=1.0, word_sets=sets,
                             words=words, random_state=random_state)
        word = next(f for f in found if f["words"] == ("zwrot",))
        in_window = uses & (items["created_at"] >= DAYS[-word["window"]]).to_numpy()
        assert word["window"] == 2
        assert word["count"] == in_window.sum() and word["rows"].tolist() == np.flatnonzero(in_window).tolist()
        assert word["size"] == uses.sum() and word["members"].tolist() == np.flatnonzero(uses).tolist()


def test_without_monte_carlo_calibration_the_best_word_would_alarm():
    """The check above can fail: the best word's own binomial tail is small under no change too."""
    items, _ = stream(seed=0)
    sets, words = word_sets(items["text"], min_items=10)
    best = scan_similar(None, items["created_at"], windows=(1, 2, 3, 7), alpha=1.0, word_sets=sets, words=words)[0]
    raw = stats.binom.sf(best["count"] - 1, best["size"], best["expected"] / best["size"])
    assert raw < 0.05 < best["p_value"]


def test_word_sets_keep_words_of_any_script_within_the_frequency_bounds():
    texts = ["Zwrot pieniędzy", "zwrot NIE działa", "zwrot", "refund please", "the refund", "a b c 42"]
    sets, words = word_sets(texts, min_items=2, max_share=0.5, stop_words=["the", "nie"])
    assert words == ["refund", "zwrot"]                    # 1-letter, digit-only, stop and rare words left out
    assert sets.shape == (2, 6)
    assert sets[words.index("zwrot")].indices.tolist() == [0, 1, 2]
    assert word_sets(texts, min_items=10)[1] == []


def test_a_words_inflected_forms_are_one_set_in_their_items_language():
    forms = ["zwrot", "zwrotu", "zwrotem", "zwrotów"]          # each form in 3 items, the word in 12
    texts = [f"czekam na {form} od tygodnia" for form in forms for _ in range(3)] + ["two bags lost", "my bag"] * 3
    langs = ["pl"] * 12 + ["en"] * 6
    sets, words = word_sets(texts, min_items=5, max_share=0.9, langs=langs)
    assert words == ["bag", "czekać", "tydzień", "zwrot"]
    assert sets[words.index("zwrot")].indices.tolist() == list(range(12))
    assert sets[words.index("bag")].indices.tolist() == list(range(12, 18))
    assert word_sets(texts, min_items=5, max_share=0.9, lemmas=False)[1] == ["czekam", "tygodnia"]   # as written


def test_a_theme_told_in_several_inflected_forms_is_found_as_one_word():
    items, vectors = stream(seed=3, planted_per_day=8)
    forms = np.array(["zwrot", "zwrotu", "zwrotem", "zwrocie", "zwroty", "zwrotów", "zwrotom", "zwrotami"])
    said = items["text"].str.endswith(" zwrotu")
    items.loc[said, "text"] = [t.replace(" zwrotu", f" {f}") for t, f in
                               zip(items.loc[said, "text"], forms[np.arange(said.sum()) % len(forms)])]
    items["lang"] = "pl"

    issues = IssueDetector(scan_word_share=0.005).detect(items, embeddings=vectors)

    assert len(issues) == 1
    assert issues.iloc[0]["summary"].startswith("similar items up (mentioning 'zwrot') across topics")
    least = int(np.ceil(0.005 * len(items)))
    as_written = word_sets(items["text"], min_items=least, langs=items["lang"], lemmas=False)[1]
    assert set(forms) & set(as_written) == set()     # no single form has enough items to be scanned


def test_items_of_undetermined_language_use_english_and_polish_stop_words_like_items_without_one():
    undetermined = IssueDetector._stop_words(pd.DataFrame({"lang": ["und", "und"]}))
    assert {"the", "nie"} <= set(undetermined) == set(IssueDetector._stop_words(pd.DataFrame({"text": ["x"]})))
    english = set(IssueDetector._stop_words(pd.DataFrame({"lang": ["en", "und"]})))
    assert "the" in english and "nie" not in english


def test_a_word_is_reported_under_the_topics_where_its_items_rose_not_where_it_is_most_used():
    items, vectors = stream(seed=3, planted_per_day=8)
    uses = items["text"].str.contains("zwrotu").to_numpy()
    planted = np.arange(len(items)) >= len(DAYS) * 60
    items.loc[uses & ~planted, "topic_id"] = 0                     # the word is usually said in topic 0
    items.loc[uses & planted, "topic_id"] = [4] * 7 + [5] * 5 + [6] * 4     # its rise: 16 items in topics 4-6

    issue = IssueDetector(scan_word_share=0.005).detect(items, embeddings=vectors).iloc[0]

    assert "mentioning 'zwrot'" in issue["summary"]
    assert set(issue["topic_ids"]) == {4, 5} and issue["topic_id"] == 4    # the fewest holding half the rise


def test_a_word_spread_over_more_topics_than_a_group_names_the_largest_rises():
    items, vectors = stream(seed=3, planted_per_day=8)
    uses = items["text"].str.contains("zwrotu").to_numpy()
    items.loc[uses, "topic_id"] = np.arange(uses.sum()) % 10        # the rise spread over all 10 topics

    issue = IssueDetector(scan_word_share=0.005, group_topics=2).detect(items, embeddings=vectors).iloc[0]

    assert "mentioning 'zwrot'" in issue["summary"]
    assert len(issue["topic_ids"]) == 2 and issue["topic_id"] in issue["topic_ids"]


def test_word_sets_must_have_a_column_per_item():
    items, _ = stream(seed=0)
    sets, words = word_sets(items["text"], min_items=10)
    with pytest.raises(ValueError, match="one column per item"):
        scan_similar(None, items["created_at"].iloc[:-1], word_sets=sets, words=words)
