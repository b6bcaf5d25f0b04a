"""Groups of neighbouring topics, tested by the emerging-issue detector as extra series.

One theme often lands on two or three neighbouring topics (a complaint about phone batteries on both an
"iphone" and a "charger" topic), each getting too few extra items to stand out. :func:`topic_groups`
builds a hierarchy of the fitted topics from their centroids (average-linkage agglomerative clustering on
cosine distance, :func:`scipy.cluster.hierarchy.linkage`) and returns its small internal nodes: every
group of at most ``max_topics`` topics that the hierarchy joins below ``max_distance``.

Example:
    >>> import numpy as np, pandas as pd
    >>> topics = pd.DataFrame({"topic_id": [0, 1, 2],
    ...                        "centroid": [[1.0, 0.0], [0.95, 0.3], [0.0, 1.0]]})
    >>> topic_groups(topics)
    [(0, 1)]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voxlens.core.errors import InputError


def topic_groups(topics: pd.DataFrame, max_topics: int = 4, max_distance: float = 0.5) -> list[tuple[int, ...]]:
    """Small groups of neighbouring topics: internal nodes of the centroids' hierarchy, smallest first.

    ``topics`` needs ``topic_id`` and ``centroid`` (a vector per topic, as in ``TopicModel.info()``);
    outlier ids (< 0) and rows without a centroid are left out. A group has 2 to ``max_topics`` topics,
    joined at cosine distance ``max_distance`` or closer (average linkage).
    """
    from scipy.cluster.hierarchy import linkage, to_tree

    missing = {"topic_id", "centroid"} - set(topics.columns)
    if missing:
        raise InputError(f"topics need the columns {sorted(missing)}: pass TopicModel.info() or the "
                           "stored topic_info table")
    usable = topics[(topics["topic_id"] >= 0) & topics["centroid"].map(_has_vector)]
    if len(usable) < 2:
        return []
    ids = usable["topic_id"].astype(int).to_numpy()
    vectors = np.stack([np.asarray(v, dtype=float) for v in usable["centroid"]])
    if len({v.shape for v in vectors}) > 1:
        raise InputError("topic centroids differ in length: refit the topic model")
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    _, nodes = to_tree(linkage(vectors, method="average", metric="cosine"), rd=True)
    groups = [tuple(sorted(int(ids[i]) for i in node.pre_order())) for node in nodes
              if not node.is_leaf() and node.get_count() <= max_topics and node.dist <= max_distance]
    return sorted(groups, key=lambda g: (len(g), g))


def _has_vector(value: object) -> bool:
    return hasattr(value, "__len__") and len(value) > 0     # None, NaN and NA (a NULL centroid) have none
