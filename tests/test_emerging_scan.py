"""The similar-items scan: a theme spread over several topics is found from the items' embeddings."""

import numpy as np
import pandas as pd
import pytest

from voxlens.metrics.emerging import IssueDetector
from voxlens.metrics.emerging_scan import scan_similar
from voxlens.core.errors import InputError

DAYS = pd.date_range("2026-03-02", periods=35, freq="D")


def stream(seed: int, planted_per_day: int = 0, planted_days: int = 2, daily: int = 60, dim: int = 16):
    """Items on 10 topics with random unit embeddings; the planted ones share a direction but not a topic."""
    rng = np.random.default_rng(seed)
    days = np.repeat(DAYS, daily)
    vectors = rng.normal(size=(len(days), dim))
    topics = rng.integers(0, 10, size=len(days))
    if planted_per_day:
        theme = np.zeros(dim)
        theme[0] = 4.0
        extra_days = np.repeat(DAYS[-planted_days:], planted_per_day)
        days = np.concatenate([days, extra_days])
        vectors = np.vstack([vectors, theme + rng.normal(size=(len(extra_days), dim))])
        topics = np.concatenate([topics, rng.choice([2, 5, 7], size=len(extra_days))])
    items = pd.DataFrame({"item_id": [f"i{n}" for n in range(len(days))], "created_at": days, "topic_id": topics,
                          "negative": rng.random(len(days)) < 0.3})
    return items, vectors


def test_a_theme_spread_over_three_topics_is_one_issue_found_only_from_embeddings():
    items, vectors = stream(seed=1, planted_per_day=8)     # 8 a day on 3 topics of 6 a day each
    detector = IssueDetector()

    assert detector.detect(items).empty
    issues = detector.detect(items, embeddings=vectors)

    assert len(issues) == 1
    issue = issues.iloc[0]
    assert issue["kind"] == "volume_spike" and issue["summary"].startswith("similar items up")
    assert set(issue["topic_ids"]) <= {2, 5, 7} and issue["topic_id"] in issue["topic_ids"]
    assert issue["window_start"] == DAYS[-2].date()
    planted = set(items["item_id"].iloc[len(DAYS) * 60:])
    assert len(set(issue["evidence"]) & planted) >= 4      # the quotes come from the theme


def diffuse_theme_stream(seed: int, spread: float = 1.0, daily: int = 60, dim: int = 16):
    """Random items, 3% of them about a theme all along, and 8 more a day about it on the last 3 days."""
    rng = np.random.default_rng(seed)
    days = pd.Series(np.repeat(DAYS, daily))
    vectors = rng.normal(size=(len(days), dim))
    theme = np.zeros(dim)
    theme[0] = 3.0
    usual = rng.random(len(days)) < 0.03
    vectors[usual] = theme + spread * rng.normal(size=(int(usual.sum()), dim))
    extra_days = pd.Series(np.repeat(DAYS[-3:], 8))
    extra = theme + spread * rng.normal(size=(len(extra_days), dim))
    return np.vstack([vectors, extra]), pd.concat([days, extra_days], ignore_index=True)


def test_neighbourhoods_moved_onto_the_mean_of_their_nearest_items_find_a_diffuse_theme_sooner():
    """A centre at a theme's edge scans a ball half outside the theme; one mean-shift step moves it to the core."""
    found = {0.0: 0, 0.02: 0}
    for seed in range(20):
        vectors, days = diffuse_theme_stream(seed)
        for shift in found:
            best = scan_similar(vectors, days, windows=(1, 2, 3), alpha=0.01, max_clusters=1, random_state=seed,
                                mean_shift=shift)
            found[shift] += bool(best) and (best[0]["rows"] >= len(DAYS) * 60).mean() >= 0.5   # mostly planted
    assert found[0.02] >= 9 and found[0.0] <= 5     # measured: 12 and 2 of 20


def test_quiet_streams_rarely_raise_a_scan_cluster():
    """Calibration: under no change the Monte Carlo maximum keeps false alarms near ``alpha``."""
    alarms = [bool(scan_similar(stream(seed)[1], pd.Series(stream(seed)[0]["created_at"]), windows=(1, 2, 3, 7),
                                alpha=0.05, random_state=1000 + seed)) for seed in range(30)]
    assert sum(alarms) <= 4     # 1.5 expected; 5 or more would happen with probability 0.02 if calibrated


def test_without_monte_carlo_calibration_the_same_streams_would_alarm():
    """The check above can fail: the best neighbourhood's own binomial tail is tiny under no change too."""
    from scipy import stats

    items, vectors = stream(seed=0)
    best = scan_similar(vectors, pd.Series(items["created_at"]), windows=(1, 2, 3, 7), alpha=1.0,
                        random_state=1000)[0]
    raw = stats.binom.sf(best["count"] - 1, best["size"], best["expected"] / best["size"])
    assert raw < 0.01 < best["p_value"]


def busy_days_stream(seed: int, daily: int = 80, clusters: int = 10, concentration: float = 10.0, dim: int = 16):
    """No change, but each day's mix of themes varies far beyond sampling noise (daily Dirichlet shares)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    mixes = rng.dirichlet(np.full(clusters, concentration / clusters), size=len(DAYS))
    topics = np.concatenate([rng.choice(clusters, size=daily, p=mix) for mix in mixes])
    vectors = 2 * centres[topics] + rng.normal(size=(len(topics), dim))
    items = pd.DataFrame({"created_at": np.repeat(DAYS, daily), "topic_id": topics,
                          "negative": rng.random(len(topics)) < 0.3})
    return items, vectors


def test_day_to_day_variation_beyond_sampling_noise_is_not_taken_for_a_theme():
    """The shuffles know no busy days, so the observed statistic is divided by the topics' dispersion."""
    scan_alarms, uncorrected_alarms = 0, 0
    for seed in range(12):
        items, vectors = busy_days_stream(seed)
        detector = IssueDetector()
        issues = detector.detect(items, embeddings=vectors)
        assert detector.dispersion_["volume"] > 3
        scan_alarms += int(issues["summary"].str.startswith("similar items up").any()) if len(issues) else 0
        uncorrected_alarms += bool(scan_similar(vectors, items["created_at"], windows=(1, 2, 3, 7), alpha=0.005,
                                                random_state=seed))
    assert scan_alarms <= 1
    assert uncorrected_alarms >= 4      # calibrated: 0.7 expected, 4 or more with probability 0.002


def test_items_without_a_vector_are_left_out_of_the_scan():
    items, vectors = stream(seed=1, planted_per_day=8)
    per_item = pd.Series(list(vectors), dtype=object)
    per_item.iloc[: len(DAYS) * 30] = None           # the first half of the days was analysed before vectors were kept
    issues = IssueDetector().detect(items, embeddings=per_item)
    assert issues["summary"].str.startswith("similar items up").tolist() == [True]
    assert IssueDetector().detect(items, embeddings=pd.Series([None] * len(items), dtype=object)).empty


def test_embeddings_must_match_the_items():
    items, vectors = stream(seed=1)
    with pytest.raises(InputError, match="one per item"):
        IssueDetector().detect(items, embeddings=vectors[:-1])
    ragged = pd.Series(list(vectors), dtype=object)
    ragged.iloc[-1] = np.ones(3)
    with pytest.raises(InputError, match="differ in length"):
        IssueDetector().detect(items, embeddings=ragged)


def test_scan_replicates_zero_turns_the_scan_off():
    items, vectors = stream(seed=1, planted_per_day=8)
    assert IssueDetector(scan_replicates=0).detect(items, embeddings=vectors).empty


def test_with_its_own_false_alarm_budget_the_scan_is_judged_on_its_corrected_p_value():
    items, vectors = stream(seed=1, planted_per_day=8)
    shared = IssueDetector(scan_alpha=None).detect(items, embeddings=vectors).iloc[0]
    own = IssueDetector(scan_alpha=0.002).detect(items, embeddings=vectors).iloc[0]
    assert shared["p_value"] == own["p_value"]
    assert shared["q_value"] > shared["p_value"]          # one test among the topics' in the FDR family
    assert own["q_value"] == own["p_value"] < 0.002        # its own family: already corrected for its centres


def test_the_benchmark_measures_how_much_of_a_scan_issue_is_planted():
    """``bench.emerging_issues`` reports this share for scan flags its topic rules cannot credit."""
    from bench.emerging_issues import _scan_planted_shares

    items, vectors = stream(seed=1, planted_per_day=8)
    detector = IssueDetector()
    issues = detector.detect(items, embeddings=vectors)
    background = len(DAYS) * 60                      # the planted items come after the background ones
    shares = _scan_planted_shares(detector.tests_, issues, background)

    assert list(shares) == [frozenset(issues.iloc[0]["topic_ids"])]
    assert 0.5 < shares[frozenset(issues.iloc[0]["topic_ids"])] < 1.0   # mostly the theme, some background
    assert set(_scan_planted_shares(detector.tests_, issues, 0).values()) == {1.0}
    assert set(_scan_planted_shares(detector.tests_, issues, len(items)).values()) == {0.0}
    assert _scan_planted_shares(pd.DataFrame(), issues, 0) == {}     # a run without the scan


def test_the_benchmarks_evidence_rule_credits_a_scan_issue_only_when_most_of_its_items_are_planted():
    from bench.emerging_issues import _evidenced, _mostly_planted

    held = {frozenset({3, 7}): 0.59, frozenset({2}): 0.49}
    assert _mostly_planted(frozenset({3, 7}), held)
    assert not _mostly_planted(frozenset({2}), held)
    assert not _mostly_planted(frozenset({3}), held)       # a topic test's flag holds no scan items
    shares = {3: 0.1, 7: 0.05, 2: 0.15, 5: 0.3}             # each topic's share of the planted items
    assert _evidenced(frozenset({3, 7}), shares, held)      # its topics got 15%, but its items are mostly planted
    assert not _evidenced(frozenset({2}), shares, held)     # 15% of the burst and under half planted items
    assert _evidenced(frozenset({5}), shares, held)         # the group rule: 30% of the planted items
    assert _evidenced(frozenset({2, 3}), shares, {})        # together 25%


def test_the_scan_may_scale_its_own_copy_of_the_vectors_in_place_with_the_same_result():
    items, vectors = stream(3, planted_per_day=12)
    vectors = vectors.astype(np.float32)
    kept = scan_similar(vectors, items["created_at"], windows=(1, 2, 3), random_state=3)
    unchanged = vectors.copy()
    overwritten = scan_similar(vectors, items["created_at"], windows=(1, 2, 3), random_state=3, overwrite_vectors=True)
    assert kept and [c["llr"] for c in kept] == [c["llr"] for c in overwritten]
    assert all(np.array_equal(a["rows"], b["rows"]) for a, b in zip(kept, overwritten))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)     # scaled where it lay
    np.testing.assert_allclose(vectors * np.linalg.norm(unchanged, axis=1, keepdims=True), unchanged, rtol=1e-4)
