"""Shared fixtures. Every test runs offline: no hub, no external service."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# ONNX exports of the test session's models go to a throwaway folder (child processes inherit it), removed
# when the session ends (a few hundred MB each run).
OWN_CACHE = None if "VOXLENS_CACHE_DIR" in os.environ else tempfile.mkdtemp(prefix="voxlens-test-cache-")
if OWN_CACHE:
    os.environ["VOXLENS_CACHE_DIR"] = OWN_CACHE

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_finish(session: pytest.Session) -> None:
    """An empty collection is a broken suite, not a pass."""
    if not session.items and not session.config.option.collectonly:
        raise pytest.UsageError("no tests were collected: check testpaths and test file names")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The session's throwaway model cache goes with it."""
    if OWN_CACHE:
        shutil.rmtree(OWN_CACHE, ignore_errors=True)


@pytest.fixture
def store(tmp_path: Path):
    from voxlens.core.store import Store

    with Store(tmp_path / "test.duckdb") as opened:
        yield opened


@pytest.fixture(scope="session")
def sentiment_model():
    from voxlens.sentiment import SentimentModel

    return SentimentModel()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The analysed demo store, built once per test session (notebooks and report tests share it).

    Set ``VOXLENS_DEMO_DB`` to reuse a store ``voxlens.demo.demo_store`` built before.
    """
    from voxlens.demo import demo_store

    return demo_store(os.environ.get("VOXLENS_DEMO_DB") or tmp_path_factory.mktemp("demo") / "demo.duckdb",
                      progress=False)


@pytest.fixture
def tiny_encoder_dir(tmp_path: Path) -> Path:
    """A tiny random BERT with a word-level tokenizer, saved locally (no hub)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + "the parcel came late app crashed great service".split()
    raw = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="[PAD]", unk_token="[UNK]")
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    directory = tmp_path / "tiny-encoder"
    BertModel(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
