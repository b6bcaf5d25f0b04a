"""Similar-items scan: a theme whose items land on several topics, found in embedding space.

The spatial scan statistic (Kulldorff's Bernoulli model, as SaTScan uses it) with embeddings for space:
about ``max_centres`` items of the last ``centre_days`` days (default: the longest window) are centres,
and a centre's neighbourhoods are the other items nearest it (cosine) among all items of the baseline and
the scanned days, in several sizes (``sizes``, as shares of those items). With ``mean_shift``, "nearest it"
means nearest the mean of the centre and its ``mean_shift`` share of nearest items (one mean-shift step,
whatever the items' days): a centre at the edge of a theme then scans the theme's core rather than a ball
half outside it. A neighbourhood's statistic is the log-likelihood ratio of "more of its items fall in the
window ending today than the window's share of all items" against "no difference", maximised over centres,
sizes and windows.

The maximum is calibrated by Monte Carlo: the items' days are shuffled ``replicates`` times and the whole
scan is repeated on each shuffle. Centres are found the same way in the data and in every shuffle: the
places they may take are drawn at random among all items, whatever their days (``max_centres`` × items /
recent items of them), and the recent ones among them are the centres. So the shuffles are
exact, and every item counts, centres too (in other centres' neighbourhoods; a centre is left out of its
own). A Gumbel distribution fitted to the shuffles' maxima gives the p-value (SaTScan's
Gumbel approximation, which resolves p-values far below ``1 / replicates``). Shuffled items are
exchangeable between days; real ones vary more from day to day than that (related items arrive
together). The observed statistics, and not the shuffles', are divided by ``dispersion`` (that variation
beyond sampling noise, as the topic tests estimate it: a quasi-likelihood ratio), so such days are not
taken for a theme.

Items that share a word are scanned as well (``word_sets``: one set per word, as :func:`word_sets` builds
them): a theme named by its words can scatter in embedding space, and each word's items are one more
candidate set in the same maximum, so the calibration covers them with no further false-alarm budget.

The best neighbourhood is reported, and then further ones that share no item with those already reported
(SaTScan's secondary clusters), each with its p-value against the same null maxima (conservative).

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> days = pd.Series(np.repeat(pd.date_range("2026-01-01", periods=31), 60))
    >>> vectors = rng.normal(size=(len(days), 8))
    >>> vectors[-30:] = [3, 3, 3, 0, 0, 0, 0, 0] + rng.normal(size=(30, 8))   # 30 similar items on the last day
    >>> found = scan_similar(vectors, days, windows=(1, 2, 3))
    >>> planted = found[0]["rows"] >= len(days) - 30
    >>> found[0]["window"], int(planted.sum()) >= 10, bool(planted.mean() > 0.8), found[0]["p_value"] < 1e-4
    (1, True, True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

from voxlens.sentiment.topics import normalise


def scan_similar(vectors: np.ndarray | None, days: pd.Series, windows: Sequence[int] = (1, 2, 3),
                 sizes: Sequence[float] = (0.005, 0.01, 0.02, 0.04), replicates: int = 99,
                 max_centres: int = 100, centre_days: int | None = None, max_clusters: int = 3,
                 dispersion: float = 1.0, alpha: float = 0.05, random_state: int = 0,
                 word_sets: sparse.spmatrix | None = None, words: Sequence[str] | None = None,
                 mean_shift: float = 0.02, overwrite_vectors: bool = False) -> list[dict]:
    """Neighbourhoods of recent items (and items sharing a word) over-represented in a window ending on the last day.

    ``vectors`` (one row per item, or None to scan ``word_sets`` only) and ``days`` (calendar days,
    aligned) cover the baseline and the scanned days; ``word_sets`` (optional, words × items, nonzero where
    an item uses the word) are scanned with them, ``words`` naming its rows; ``mean_shift`` (a share of the
    items, 0 for none) moves each neighbourhood onto the mean of its centre's nearest items;
    ``overwrite_vectors`` lets the scan scale ``vectors`` (float32) to unit length in place (no copy). Returns at most
    ``max_clusters`` dicts, those with ``p_value < alpha``: ``rows`` (positions of the set's items in the
    window, a neighbourhood's centre included), ``window`` (days), ``size`` (items in the set, the centre not
    counted), ``count`` (those in the window, the centre not counted), ``expected``, ``llr``, ``p_value``,
    ``words`` (the set's words; empty for a neighbourhood) and ``members`` (positions of all the set's items,
    the centre not counted).
    """
    day = pd.to_datetime(pd.Series(days)).dt.normalize().to_numpy()
    total = len(day)
    if total < 10 or (vectors is None and word_sets is None):
        return []
    end = day.max()
    windows = sorted(set(windows))
    age = ((end - day) / np.timedelta64(1, "D")).astype(int)     # 0 = the last day
    rng = np.random.default_rng(random_state)
    counts = np.unique(np.clip([int(round(s * total)) for s in sizes], 2, total - 1))
    recent_days = centre_days or max(windows)
    places, neighbours = np.zeros(0, dtype=int), None
    if vectors is not None:
        vectors = normalise(vectors, in_place=overwrite_vectors)
        # drawn whatever the items' days, so that about max_centres are recent; a shuffle leaves the share unchanged
        wanted = min(total, int(np.ceil(max_centres * total / (age < recent_days).sum())))
        places = np.sort(rng.choice(total, size=wanted, replace=False))
        queries = vectors[places]
        if mean_shift > 0:    # from all items, whatever their days, so the shuffles stay exact
            around = _nearest(queries, places, vectors, max(1, int(round(mean_shift * total))))
            # summed through a sparse places × items matrix: gathering the vectors would hold places × share × dims
            membership = sparse.csr_matrix((np.ones(around.size, dtype=np.float32), around.ravel(),
                                            np.arange(0, around.size + 1, around.shape[1])),
                                           shape=(len(places), total))
            queries = normalise(queries + membership @ vectors)
        neighbours = _nearest(queries, places, vectors, int(counts.max()))
    sets = set_sizes = None
    if word_sets is not None:
        sets = sparse.csr_matrix(word_sets, dtype=np.float64)
        sets.eliminate_zeros()
        if sets.shape[1] != total:
            raise ValueError(f"word_sets has {sets.shape[1]} columns for {total} items: one column per item")
        set_sizes = np.diff(sets.indptr)
    if neighbours is None and (sets is None or sets.shape[0] == 0):
        return []

    def statistics(ages: np.ndarray) -> np.ndarray:
        parts = []
        if neighbours is not None:
            centres = ages[places] < recent_days      # the recent places are this day assignment's centres
            out = np.zeros((len(places), len(counts), len(windows)))
            out[centres] = _statistics(neighbours[centres], ages, windows, counts)
            parts.append(out.ravel())
        if sets is not None:
            parts.append(_set_statistics(sets, set_sizes, ages, windows).ravel())
        return np.concatenate(parts)

    observed = statistics(age) / max(1.0, dispersion)    # shuffled days have no extra variation
    null_maxima = np.array([statistics(rng.permutation(age)).max() for _ in range(replicates)])
    p_value_of = _null_distribution(null_maxima)
    neighbourhood_shape = (len(places), len(counts), len(windows)) if neighbours is not None else (0, 0, 0)
    first_set = int(np.prod(neighbourhood_shape))
    found, taken = [], np.zeros(total, dtype=bool)
    for flat in np.argsort(observed, kind="stable")[::-1]:
        llr = float(observed[flat])
        p_value = p_value_of(llr)
        if p_value >= alpha or llr <= 0 or len(found) >= max_clusters:
            break
        if flat < first_set:
            centre, size, window = np.unravel_index(flat, neighbourhood_shape)
            members = neighbours[centre, :counts[size]]
            place, word = [places[centre]], ()
        else:   # a word: every item using it
            row, window = divmod(int(flat - first_set), len(windows))
            members = np.sort(sets[row].indices)
            place, word = [], (words[row] if words is not None else str(row),)
        if taken[members].any() or taken[place].any():
            continue
        taken[members] = taken[place] = True
        in_window = np.append(members[age[members] < windows[window]], place).astype(int)
        expected = len(members) * (age < windows[window]).mean()
        found.append({"rows": np.sort(in_window), "window": int(windows[window]), "size": len(members),
                      "count": float(len(in_window) - len(place)), "expected": float(expected), "llr": llr,
                      "p_value": p_value, "words": word, "members": np.sort(members)})
    return found


def _null_distribution(null_maxima: np.ndarray) -> Callable[[float], float]:
    """The p-value of an observed maximum: a Gumbel fitted to the shuffles' maxima, or their empirical tail
    where they barely vary (days that shuffling cannot change, such as every item on one day)."""
    def empirical(llr: float) -> float:
        return float((1 + np.sum(null_maxima >= llr)) / (1 + len(null_maxima)))

    if len(null_maxima) < 2 or np.ptp(null_maxima) <= 1e-9 * max(1.0, float(np.abs(null_maxima).max())):
        return empirical
    try:
        location, scale = stats.gumbel_r.fit(null_maxima.astype(np.float64))
    except (OverflowError, ValueError, RuntimeError):
        return empirical
    if not (np.isfinite(location) and np.isfinite(scale) and scale > 0):
        return empirical
    return lambda llr: float(stats.gumbel_r.sf(llr, location, scale))


def word_sets(texts: Sequence[str], min_items: int = 10, max_share: float = 0.2,
              stop_words: Sequence[str] | None = None, langs: Sequence[str | None] | None = None,
              lemmas: bool = True) -> tuple[sparse.csr_matrix, list[str]]:
    """Per word (letters only, lower-cased, any script), the items that use it: words × items, and the words.

    With ``lemmas`` a word is its lemma in its item's language (``langs``, one code per text; unknown: English,
    then Polish; see :mod:`voxlens.sentiment.lemmas`), so ``zwrot``, ``zwrotu`` and ``zwrotem`` are one set. Words in
    fewer than ``min_items`` items or in more than ``max_share`` of them are left out, and so are
    ``stop_words`` (as written and as lemmas).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    from voxlens.sentiment.topics import TOKEN_PATTERN

    texts = ["" if pd.isna(t) else str(t) for t in texts]
    if lemmas:
        from voxlens.sentiment.lemmas import lemmatised

        texts = lemmatised(texts, langs, stop_words or ())
    vectorizer = CountVectorizer(binary=True, min_df=max(1, min_items), max_df=max_share, token_pattern=TOKEN_PATTERN,
                                 stop_words=list(stop_words) if stop_words else None, dtype=np.float64)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:     # no word is frequent enough (or every one is too frequent)
        return sparse.csr_matrix((0, len(texts))), []
    return sparse.csr_matrix(matrix.T), vectorizer.get_feature_names_out().tolist()


def _nearest(queries: np.ndarray, centres: np.ndarray, vectors: np.ndarray, count: int,
             budget: int = 2**22) -> np.ndarray:
    """Per query (a unit vector for the item at position ``centres[i]``), the ``count`` other items most
    similar to it (positions), most similar first. Queries go in blocks of at most ``budget`` similarities
    (16 MB), so memory stays flat however many items there are."""
    rows = []
    chunk = max(1, min(256, budget // max(len(vectors), 1)))
    for start in range(0, len(centres), chunk):
        block = centres[start:start + chunk]
        distance = queries[start:start + chunk] @ vectors.T
        np.negative(distance, out=distance)                  # most similar lowest, with no second copy
        distance[np.arange(len(block)), block] = np.inf     # not its own neighbour
        top = np.argpartition(distance, count - 1, axis=1)[:, :count]
        order = np.argsort(np.take_along_axis(distance, top, axis=1), axis=1, kind="stable")
        rows.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(rows)


def _statistics(neighbours: np.ndarray, age: np.ndarray, windows: Sequence[int], counts: np.ndarray) -> np.ndarray:
    """Bernoulli log-likelihood ratios, shaped (centres, sizes, windows); 0 where the window is not richer."""
    out = np.zeros((len(neighbours), len(counts), len(windows)))
    for w, window in enumerate(windows):
        inside = age < window
        share = inside.mean()
        hits = np.cumsum(inside[neighbours], axis=1)[:, counts - 1].astype(float)
        out[:, :, w] = _bernoulli_llr(hits, counts[None, :].astype(float), share)
    return out


def _set_statistics(sets: sparse.csr_matrix, size: np.ndarray, age: np.ndarray, windows: Sequence[int]) -> np.ndarray:
    """Bernoulli log-likelihood ratios of fixed item sets (rows of ``sets``, ``size`` items each), shaped
    (sets, windows)."""
    out = np.zeros((sets.shape[0], len(windows)))
    for w, window in enumerate(windows):
        inside = age < window
        out[:, w] = _bernoulli_llr(sets @ inside.astype(np.float64), size, inside.mean())
    return out


def _bernoulli_llr(hits: np.ndarray, size: np.ndarray, share: float) -> np.ndarray:
    """Kulldorff's Bernoulli log-likelihood ratio of ``hits`` of ``size`` against the overall ``share``."""
    rate = hits / size
    with np.errstate(divide="ignore", invalid="ignore"):
        llr = (np.where(hits > 0, hits * np.log(rate / share), 0.0)
               + np.where(size > hits, (size - hits) * np.log((1 - rate) / (1 - share)), 0.0))
    return np.where(rate > share, llr, 0.0)
