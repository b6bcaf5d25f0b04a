"""Calibration of the similar-items scan: how often quiet streams get small p-values.

Each seed is a 35-day stream with no change: ``--daily`` items a day, each a random unit vector and a text
of made-up words drawn by Zipf's law (some words common, most rare). The scan (neighbourhoods and the
items of each word, :func:`voxlens.metrics.emerging_scan.scan_similar`) reports the p-value of its best set; if the
scan is calibrated, a share ``a`` of the seeds has a p-value below ``a``. Printed: that share at
a = 0.01, 0.05 and 0.1, with its binomial 95% interval, for neighbourhoods alone and with words.

Run: ``python -m bench.scan_calibration --seeds 150``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from voxlens.metrics.emerging import IssueDetector
from voxlens.metrics.emerging_scan import scan_similar, word_sets

LEVELS = (0.01, 0.05, 0.1)
SYLLABLES = "ka po strze łą ni dro we mo ba tu ser cha ży pi lo ven".split()
WORDS = np.array([a + b for a in SYLLABLES for b in SYLLABLES])


def quiet_stream(seed: int, daily: int, days: int = 35, dim: int = 16) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Days, vectors and texts of a stream with nothing planted."""
    rng = np.random.default_rng(seed)
    moments = pd.Series(np.repeat(pd.date_range("2026-03-02", periods=days, freq="D"), daily))
    use = 1 / np.arange(1, len(WORDS) + 1)
    texts = [" ".join(words) for words in rng.choice(WORDS, size=(len(moments), 8), p=use / use.sum())]
    return moments, rng.normal(size=(len(moments), dim)), texts


def best_p_values(seeds: int, daily: int, with_words: bool) -> np.ndarray:
    """The best set's p-value per quiet stream."""
    found = []
    for seed in range(seeds):
        moments, vectors, texts = quiet_stream(seed, daily)
        sets, words = None, None
        if with_words:     # the words the detector scans by default
            sets, words = word_sets(texts, min_items=IssueDetector().word_min_items(len(texts)))
        best = scan_similar(vectors, moments, windows=(1, 2, 3, 7), alpha=1.0, max_clusters=1, random_state=seed,
                            word_sets=sets, words=words)
        found.append(best[0]["p_value"] if best else 1.0)
    return np.array(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=150)
    parser.add_argument("--daily", type=int, default=60, help="items a day")
    args = parser.parse_args()
    started = time.time()
    rows = []
    for with_words in (False, True):
        p_values = best_p_values(args.seeds, args.daily, with_words)
        for level in LEVELS:
            below = int((p_values < level).sum())
            low, high = stats.binomtest(below, len(p_values)).proportion_ci(method="wilson")
            rows.append({"sets": "neighbourhoods and words" if with_words else "neighbourhoods", "level": level,
                         "share below": below / len(p_values), "95% interval": f"{low:.3f}–{high:.3f}",
                         "streams": len(p_values)})
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"{args.daily} items a day, 35 days; total {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
