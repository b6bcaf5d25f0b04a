"""Stable identifiers and hashes shared by every collector."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(*parts: Any, length: int = 16) -> str:
    """Hex digest of the parts, stable across runs and machines.

    Example:
        >>> stable_hash("reviews", "42")
        '969ce8d10de3469c'
    """
    payload = json.dumps([None if p is None else str(p) for p in parts], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:length]


def item_id(source: str, external_id: str) -> str:
    """The item key: a hash of its source and the id the source gave it."""
    return stable_hash(source, external_id)


def hash_author(author: str | None, salt: str) -> str | None:
    """Pseudonymise an author name with the store's secret salt."""
    if author is None or str(author).strip() == "":
        return None
    return "a_" + stable_hash(salt, str(author).strip(), length=20)
