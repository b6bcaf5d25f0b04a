"""Themes of one domain's feedback: a Ward tree over reduced sentence vectors, cut where merges jump.

Feedback about one brand or product sits in one region of the encoder's space; density-based clustering
(HDBSCAN) then often finds one giant cluster and many outliers. A Ward tree has an answer at every level:
the cut is taken where the merge height jumps most (the clusters below it are far apart compared with
their own spread) within a range of topic counts that grows with the corpus; regions plainly apart (a
much larger jump, below that range) are each cut again on their own; and a cluster far larger than the
others is split further down its own branch. Every text then goes to its nearest centroid.

The tree is built on at most ``max_fit`` texts (a seeded sample); the rest join their nearest centroid.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> centres = rng.normal(size=(4, 12)) * 3
    >>> vectors = np.repeat(centres, 50, axis=0) + rng.normal(size=(200, 12))
    >>> labels = WardTopics(random_state=0).fit_predict(vectors)
    >>> len(set(labels)), np.bincount(labels).tolist()
    (4, [50, 50, 50, 50])
"""

from __future__ import annotations

import numpy as np

SPLIT_AGAIN = 200       # a region plainly apart from the rest is cut again on its own from this size on


class WardTopics:
    """Topic clusters of unit-normalised sentence vectors (``fit_predict`` as a scikit-learn clusterer).

    Args:
        n_components: PCA components the tree is built on.
        max_fit: most texts the tree is built on (a seeded sample; the rest join the nearest centroid).
        min_topics, max_topics: the range of topic counts the cut is chosen in; None scales it with the
            corpus (from ``sqrt(n) / 4`` to ``sqrt(n) / 2``, at least 8 to 12 topics from 200 texts on, at most
            60, at least 10 texts a topic on average).
        strong_gap: a jump in merge height at least this large is taken even below ``min_topics`` (themes
            that are plainly apart).
        max_ratio: a cluster larger than this many times the median of the others is split down its branch.
        min_size: clusters smaller than this dissolve into their nearest neighbours.
        apart: a cluster whose last merge is this many times the mean of the merges in its halves is split.
        random_state: seed of the sample and of PCA.

    A cluster that joins two groups plainly apart is split too: its last merge at least ``apart`` times
    the mean height of the merges inside its halves (on real feedback rarely above 2, between distinct
    intents or templated texts 2.2 to 3).

    Sets ``n_topics_``, ``heights_`` (the tree's merge heights) and ``centroids_`` (unit vectors).
    """

    def __init__(self, n_components: int = 50, max_fit: int = 10_000, min_topics: int | None = None,
                 max_topics: int | None = None, strong_gap: float = 2.0, max_ratio: float = 4.0,
                 min_size: int = 5, apart: float = 2.2, random_state: int = 0) -> None:
        self.apart = apart
        self.n_components = n_components
        self.max_fit = max_fit
        self.min_topics = min_topics
        self.max_topics = max_topics
        self.strong_gap = strong_gap
        self.max_ratio = max_ratio
        self.min_size = min_size
        self.random_state = random_state

    def fit_predict(self, vectors: np.ndarray) -> np.ndarray:
        """Topic per row, numbered 0..k-1 (no outliers: the caller decides what is too far)."""
        import fastcluster
        from sklearn.decomposition import PCA

        vectors = _unit(vectors)
        n = len(vectors)
        if n < 3:
            self.n_topics_, self.heights_ = 1, np.zeros(0)
            self.centroids_ = _unit(vectors.mean(axis=0, keepdims=True))
            return np.zeros(n, dtype=int)
        rng = np.random.default_rng(self.random_state)
        rows = np.sort(rng.choice(n, size=self.max_fit, replace=False)) if n > self.max_fit else np.arange(n)
        components = max(1, min(self.n_components, len(rows) - 1, vectors.shape[1]))
        pca = PCA(n_components=components, svd_solver="covariance_eigh", random_state=self.random_state)
        reduced = pca.fit_transform(vectors[rows]).astype(np.float64)
        tree = fastcluster.linkage_vector(reduced, method="ward")     # O(n) memory, no distance matrix
        self.heights_ = tree[:, 2]
        nodes = self._cut_branch(tree, 2 * len(rows) - 2)
        cap = max(2 * self._range(len(rows))[1], len(nodes))
        nodes = self._split_apart(tree, self._split_giants(tree, nodes, cap=cap), cap=cap)
        sample_labels = _node_labels(tree, nodes, len(rows))
        centroids = _centroids(vectors[rows], sample_labels, self.min_size)
        labels = (vectors @ centroids.T).argmax(axis=1)
        labels = _dense(labels)
        self.centroids_ = _centroids(vectors, labels, 1)
        self.n_topics_ = len(self.centroids_)
        return labels

    # -- choosing the cut ------------------------------------------------------------------------
    def _range(self, n: int) -> tuple[int, int]:
        most = max(2, n // 10)
        high = self.max_topics or int(np.clip(max(np.sqrt(n) / 1.5, min(12, n / 15)), 2, 60))
        low = self.min_topics or int(np.clip(max(np.sqrt(n) / 3, min(8, n / 25)), 2, 30))
        high = max(2, min(high, most))
        return min(low, high), high

    def _cut_branch(self, tree: np.ndarray, root: int) -> list[int]:
        """Clusters of one branch of the tree; regions plainly apart (a strong gap below the range of
        topic counts) are each cut again on their own when they hold at least ``SPLIT_AGAIN`` texts."""
        n = len(tree) + 1
        size = _size(tree, root)
        if root < n or size < 3:
            return [root]
        heights = np.sort(tree[[m - n for m in _internal(tree, root)], 2])
        low, high = self._range(size)
        k = self._cut(heights, low, high)
        nodes = _split_largest_merges(tree, k, root)
        if k >= low:
            return nodes
        return [leaf for node in nodes
                for leaf in (self._cut_branch(tree, node) if _size(tree, node) >= SPLIT_AGAIN else [node])]

    def _cut(self, heights: np.ndarray, low: int, high: int) -> int:
        """The number of clusters whose last merge jumps most over the merge before it."""
        n_merges = len(heights)
        high = min(high, n_merges)
        if high < 2:
            return 1
        ks = np.arange(2, high + 1)
        upper = heights[n_merges - ks + 1]          # the merge that takes k clusters to k - 1
        lower = heights[n_merges - ks]              # the merge that takes k + 1 clusters to k
        gaps = upper / np.maximum(lower, 1e-12)
        in_range = ks >= low
        best = int(ks[in_range][np.argmax(gaps[in_range])])
        below = ~in_range & (gaps >= self.strong_gap) & (gaps > gaps[in_range].max())
        if below.any():
            best = int(ks[below][np.argmax(gaps[below])])
        return best

    def _split_giants(self, tree: np.ndarray, nodes: list[int], cap: int) -> list[int]:
        """Split the largest cluster down its own branch while it dwarfs the median of the others."""
        n = len(tree) + 1
        nodes = list(nodes)
        while len(nodes) < cap:
            sizes = np.array([_size(tree, node) for node in nodes])
            largest = int(np.argmax(sizes))
            others = np.delete(sizes, largest)
            if not len(others) or sizes[largest] <= self.max_ratio * np.median(others) or nodes[largest] < n:
                break
            node = nodes.pop(largest)
            nodes += [int(child) for child in tree[node - n, :2]]
        return nodes


    def _split_apart(self, tree: np.ndarray, nodes: list[int], cap: int) -> list[int]:
        """Split a cluster made of two groups plainly apart: its last merge at least ``apart`` times higher
        than the mean of the merges inside its halves, each half of at least 10 texts."""
        n = len(tree) + 1
        nodes, changed = list(nodes), True
        while changed and len(nodes) < cap:
            changed = False
            for node in sorted(nodes, key=lambda m: -_size(tree, m)):
                if node < n:
                    continue
                children = [int(child) for child in tree[node - n, :2]]
                inner = np.mean([tree[c - n, 2] if c >= n else 0.0 for c in children])
                if (min(_size(tree, c) for c in children) >= max(self.min_size, 10)
                        and tree[node - n, 2] >= self.apart * max(inner, 1e-12)):
                    nodes.remove(node)
                    nodes += children
                    changed = True
                    break
        return nodes


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _size(tree: np.ndarray, node: int) -> int:
    n = len(tree) + 1
    return 1 if node < n else int(tree[node - n, 3])


def _internal(tree: np.ndarray, root: int) -> list[int]:
    """The merge nodes of the branch under ``root`` (itself included)."""
    n = len(tree) + 1
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if node >= n:
            found.append(node)
            stack += [int(child) for child in tree[node - n, :2]]
    return found


def _split_largest_merges(tree: np.ndarray, k: int, root: int) -> list[int]:
    """The ``k`` subtrees left when the top ``k - 1`` merges under ``root`` are undone."""
    n = len(tree) + 1
    nodes = [root]
    while len(nodes) < k:
        node = max((m for m in nodes if m >= n), key=lambda m: tree[m - n, 2], default=None)
        if node is None:
            break
        nodes.remove(node)
        nodes += [int(child) for child in tree[node - n, :2]]
    return nodes


def _node_labels(tree: np.ndarray, nodes: list[int], n: int) -> np.ndarray:
    """Per leaf, the index in ``nodes`` of the subtree holding it."""
    labels = np.full(n, -1)
    for label, node in enumerate(nodes):
        stack = [node]
        while stack:
            current = stack.pop()
            if current < n:
                labels[current] = label
            else:
                stack += [int(child) for child in tree[current - n, :2]]
    return labels


def _centroids(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Unit centroids of the clusters with at least ``min_size`` members (all of them if none has)."""
    found, counts = np.unique(labels, return_counts=True)
    keep = found[counts >= min_size] if (counts >= min_size).any() else found
    return _unit(np.stack([vectors[labels == c].mean(axis=0) for c in keep]))


def _dense(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance of each value's sorted position."""
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(int)
