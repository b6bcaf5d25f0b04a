"""Shared fixtures. Every test runs offline: no hub, no external service."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_finish(session: pytest.Session) -> None:
    """An empty collection is a broken suite, not a pass."""
    if not session.items and not session.config.option.collectonly:
        raise pytest.UsageError("no tests were collected: check testpaths and test file names")


@pytest.fixture
def store(tmp_path: Path):
    from voxlens.store import Store

    with Store(tmp_path / "test.duckdb") as opened:
        yield opened


@pytest.fixture(scope="session")
def sentiment_model():
    from sentiment import SentimentModel

    return SentimentModel()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The analysed demo store, built once per test session (notebooks and report tests share it).

    Set ``VOXLENS_DEMO_DB`` to reuse a store ``voxlens.demo.demo_store`` built before.
    """
    from voxlens.demo import demo_store

    return demo_store(os.environ.get("VOXLENS_DEMO_DB") or tmp_path_factory.mktemp("demo") / "demo.duckdb",
                      progress=False)
