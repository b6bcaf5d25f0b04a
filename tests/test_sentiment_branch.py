"""The sentiment branch on a tiny random BERT: topic vectors as the plain model's, save → load round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from voxlens.core.errors import ModelError
from voxlens.sentiment.branch import VERSION, SentimentBranch, mean_pool

TEXTS = ["the parcel came late", "great service", "app crashed the app crashed late", "great"]


@pytest.fixture
def deep_encoder_dir(tiny_encoder_dir: Path, tmp_path: Path) -> Path:
    """The tiny encoder grown to 4 layers, so a 2 + 2 shape fits as on MiniLM."""
    from transformers import BertModel

    tiny = BertModel.from_pretrained(tiny_encoder_dir)
    config = tiny.config
    config.num_hidden_layers = 4
    torch.manual_seed(0)
    deep = BertModel(config).eval()
    directory = tmp_path / "deep-encoder"
    deep.save_pretrained(directory)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_encoder_dir / name).exists():
            (directory / name).write_bytes((tiny_encoder_dir / name).read_bytes())
    return directory


def plain_pooling(directory: Path, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The full model's masked mean pooling, as ``Encoder`` computes it (before normalising)."""
    from transformers import AutoModel

    with torch.no_grad():
        hidden = AutoModel.from_pretrained(directory).eval()(input_ids=ids, attention_mask=mask).last_hidden_state
    return mean_pool(hidden, mask)


@pytest.mark.parametrize("trunk, branch", [(2, 2), (0, 4), (3, 1)])
def test_topic_output_is_the_full_models_normalised_mean_pooling(deep_encoder_dir, trunk, branch):
    model = SentimentBranch(str(deep_encoder_dir), trunk_layers=trunk, branch_layers=branch).eval()
    ids, mask = model.tokenize(TEXTS)
    assert mask.sum(1).min() < mask.shape[1]  # padding is present, so the mask matters
    logits, topic = model(ids, mask)
    expected = torch.nn.functional.normalize(plain_pooling(deep_encoder_dir, ids, mask), dim=1)
    torch.testing.assert_close(topic, expected, atol=1e-5, rtol=1e-4)
    assert logits.shape == (len(TEXTS), 3)
    # The branch starts as a copy of the next original layers: with trunk + branch = all layers its pooled
    # vector is the full model's, so the logits are the head applied to it.
    if trunk + branch == 4:
        torch.testing.assert_close(logits, model.head(plain_pooling(deep_encoder_dir, ids, mask)), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(model.sentiment_logits(ids, mask), logits)


def test_each_text_is_scored_as_alone_whatever_its_batch(deep_encoder_dir):
    model = SentimentBranch(str(deep_encoder_dir), trunk_layers=2, branch_layers=2).eval()
    together = model.predict_proba(TEXTS)
    alone = np.concatenate([model.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(together.sum(1), 1.0, atol=1e-5)


def test_only_the_branch_and_head_learn(deep_encoder_dir):
    model = SentimentBranch(str(deep_encoder_dir), trunk_layers=2, branch_layers=2, hidden=8).train()
    ids, mask = model.tokenize(TEXTS)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    loss = torch.nn.functional.cross_entropy(model.sentiment_logits(ids, mask), torch.tensor([0, 2, 0, 2]))
    loss.backward()
    optimiser.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("branch.", "head.")) for k in changed)
    assert any(k.startswith("branch.") for k in changed)
    assert not model.bert.training and model.branch.training


def test_save_then_load_round_trips(deep_encoder_dir, tmp_path):
    torch.manual_seed(1)
    model = SentimentBranch(str(deep_encoder_dir), trunk_layers=2, branch_layers=2, hidden=8, max_tokens=16,
                            temperature=1.7).eval()
    with torch.no_grad():
        for parameter in model.branch.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))  # so the saved layers differ from the base's
    directory = model.save(tmp_path / "branch", card={"seed": 13, "data": [{"set": "x", "sha256": "0" * 64}]})
    arrays = np.load(directory / "weights.npz")
    assert "encoder.layer.2.attention.self.query.weight" in arrays and "encoder.layer.3.output.LayerNorm.bias" in arrays
    assert not any(k.startswith(("encoder.layer.0.", "encoder.layer.1.")) for k in arrays)
    assert arrays["encoder.layer.2.attention.self.query.weight"].dtype == np.float16
    assert arrays["head.weight"].shape == (3, 8) and arrays["head.hidden.weight"].dtype == np.float32
    card = json.loads((directory / "card.json").read_text())
    assert card["trunk_layers"] == 2 and card["branch_layers"] == 2 and card["temperature"] == 1.7
    assert card["seed"] == 13 and card["version"] == VERSION

    loaded = SentimentBranch.load(directory, encoder=str(deep_encoder_dir))
    assert (loaded.trunk_layers, loaded.branch_layers, loaded.max_tokens, loaded.temperature) == (2, 2, 16, 1.7)
    ids, mask = model.tokenize(TEXTS)
    original_logits, original_topic = model(ids, mask)
    logits, topic = loaded(ids, mask)
    torch.testing.assert_close(topic, original_topic)
    torch.testing.assert_close(logits, original_logits, atol=2e-2, rtol=2e-2)  # layers stored in float16
    assert not torch.equal(logits, SentimentBranch(str(deep_encoder_dir), 2, 2, hidden=8).eval()(ids, mask)[0])


def test_a_shape_that_does_not_fit_or_a_missing_artefact_is_a_model_error(deep_encoder_dir, tmp_path):
    with pytest.raises(ModelError, match="must fit"):
        SentimentBranch(str(deep_encoder_dir), trunk_layers=3, branch_layers=2)
    with pytest.raises(ModelError, match="no sentiment branch"):
        SentimentBranch.load(tmp_path / "nothing", encoder=str(deep_encoder_dir))
