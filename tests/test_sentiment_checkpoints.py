"""Any sequence-classification checkpoint maps to negative/neutral/positive through its own id2label.

The checkpoints are tiny BERTs built here (random encoder, a classifier whose bias picks the winning
label), saved to a temporary directory and loaded by path, as a user would load a downloaded model.
"""

from __future__ import annotations

import numpy as np
import pytest

from voxlens.sentiment import SentimentModel
from voxlens.sentiment.checkpoint import label_matrix
from voxlens.core.errors import ModelError

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "courier", "was", "late", "great",
         "kurier", "spóźnił", "się", "app", "crashes", "."]


def tiny_checkpoint(directory, id2label: dict[int, str], bias: list[float]) -> str:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt")).save_pretrained(directory)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=len(id2label),
                        id2label=id2label, label2id={v: k for k, v in id2label.items()})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(directory)
    return str(directory)


STARS = {i: f"{i + 1} star" + ("s" if i else "") for i in range(5)}


@pytest.mark.parametrize("id2label, bias, expected", [
    ({0: "negative", 1: "neutral", 2: "positive"}, [0.0, 0.0, 4.0], "positive"),
    ({0: "Negative", 1: "Neutral", 2: "Positive"}, [4.0, 0.0, 0.0], "negative"),
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, [0.0, 4.0, 0.0], "neutral"),
    ({0: "NEG", 1: "POS"}, [0.0, 4.0], "positive"),
    (STARS, [0.0, 4.0, 0.0, 0.0, 0.0], "negative"),
    (STARS, [0.0, 0.0, 4.0, 0.0, 0.0], "neutral"),
    (STARS, [0.0, 0.0, 0.0, 0.0, 4.0], "positive"),
])
def test_checkpoint_labels_map_to_three_classes(tmp_path, id2label, bias, expected):
    path = tiny_checkpoint(tmp_path / "ckpt", id2label, bias)

    scores = SentimentModel(path).predict(["the courier was late", "great app"])

    assert scores["label"].tolist() == [expected, expected]
    probs = scores[["p_negative", "p_neutral", "p_positive"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(scores["score"], probs[:, 2] - probs[:, 0])
    assert scores["covered"].all() and (scores["model"] == path).all()


def test_star_probabilities_are_summed_per_class(tmp_path):
    path = tiny_checkpoint(tmp_path / "stars", STARS, [2.0, 1.0, 0.0, 1.0, 3.0])
    stars = np.exp([2.0, 1.0, 0.0, 1.0, 3.0]) / np.exp([2.0, 1.0, 0.0, 1.0, 3.0]).sum()

    row = SentimentModel(path).predict(["great"]).iloc[0]

    assert row["p_negative"] == pytest.approx(stars[0] + stars[1], rel=1e-5)
    assert row["p_neutral"] == pytest.approx(stars[2], rel=1e-5)
    assert row["p_positive"] == pytest.approx(stars[3] + stars[4], rel=1e-5)


def test_unknown_labels_ask_for_a_label_map(tmp_path):
    path = tiny_checkpoint(tmp_path / "emotions", {0: "joy", 1: "anger"}, [1.0, 0.0])

    with pytest.raises(ModelError, match="label_map"):
        SentimentModel(path).predict(["great"])
    assert label_matrix({0: "joy", 1: "anger"}, {"joy": "positive", "anger": "negative"}).tolist() == [
        [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]


def test_a_missing_checkpoint_says_what_to_pass(tmp_path):
    with pytest.raises(ModelError, match="local directory"):
        SentimentModel(str(tmp_path / "nowhere")).predict(["great"])
