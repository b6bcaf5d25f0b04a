"""Training of the sentiment branch on a tiny random BERT: data capping, cached trunk states, learning."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from voxlens.models.branch_data import cap_classes, segment_texts, trunk_states, without_neutral
from voxlens.models.train_branch import fit_temperature, init_head, prepare, split_proba, train
from voxlens.sentiment.branch import SentimentBranch
from voxlens.sentiment.segments import scoring_segments

NEGATIVE = ["the parcel came late", "app crashed", "late late parcel", "the app crashed late"]
POSITIVE = ["great service", "great app", "the service great", "great great parcel"]


def toy_frame(repeat: int = 6) -> pd.DataFrame:
    long_negative = ". ".join(["the app crashed"] * 40) + "."   # longer than 400 characters: read in windows
    rows = [(t, "negative") for t in NEGATIVE] + [(t, "positive") for t in POSITIVE] + [(long_negative, "negative")]
    frame = pd.DataFrame(rows * repeat, columns=["text", "label"])
    frame["text"] = [f"{t} {'the ' * (i % 3)}".strip() for i, t in enumerate(frame["text"])]
    frame = frame.drop_duplicates("text").reset_index(drop=True)
    return frame.assign(domain=np.where(np.arange(len(frame)) % 2, "a", "b"))


def test_cap_classes_keeps_rare_classes_whole_and_evens_the_rest():
    frame = pd.DataFrame({"text": [str(i) for i in range(130)],
                          "label": ["positive"] * 100 + ["negative"] * 20 + ["neutral"] * 10})
    capped = cap_classes(frame, 60, seed=0)
    assert len(capped) == 60
    assert capped["label"].value_counts().to_dict() == {"positive": 30, "negative": 20, "neutral": 10}
    assert cap_classes(frame, 500, seed=0) is frame


def test_without_neutral_leaves_out_only_the_named_domains_neutral_examples():
    data = pd.DataFrame({"text": list("abcd"), "domain": ["plots", "plots", "tweets", "tweets"],
                         "label": ["neutral", "positive", "neutral", "negative"]})
    kept = without_neutral(data, ["plots"])
    assert kept["text"].tolist() == ["b", "c", "d"]
    assert without_neutral(data, []).equals(data)


def test_texts_are_cut_into_the_windows_prediction_reads():
    text = "The parcel came late. " * 30
    assert segment_texts([text, "Fine."]) == [scoring_segments(text, 400, windows=True), ["Fine."]]
    assert all(len(w) <= 400 for w in segment_texts([text])[0])


def test_trunk_states_are_the_trunks_output_and_come_back_from_the_cache(tiny_encoder_dir, tmp_path):
    model = SentimentBranch(str(tiny_encoder_dir), trunk_layers=1, branch_layers=1).eval()
    segments = NEGATIVE + POSITIVE
    states = trunk_states(model, segments, max_tokens=16, cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    ids, mask = model.tokenize(segments[2:3], max_tokens=16)
    expected = model.trunk(ids, mask)[0].numpy()
    hidden, batch_mask = states.batch(np.array([2]))
    np.testing.assert_allclose(hidden[0].numpy(), expected, atol=2e-3)  # stored in float16
    again = trunk_states(model, segments, max_tokens=16, cache=tmp_path)
    np.testing.assert_array_equal(again.flat, states.flat)
    assert batch_mask.sum().item() == states.lengths[2]


@pytest.mark.slow   # about a minute on 2 shared cores
def test_the_branch_learns_a_separable_toy_set_and_calibrates(tiny_encoder_dir, tmp_path):
    model = SentimentBranch(str(tiny_encoder_dir), trunk_layers=1, branch_layers=1)
    frame = toy_frame()
    data = prepare(model, frame, max_tokens=32, cache=tmp_path, name="toy")
    assert (data.count > 1).any()   # the long review is several windows
    y = frame["label"].map(["negative", "neutral", "positive"].index).to_numpy()
    np.testing.assert_array_equal(data.y, y)   # items keep the order of the frame
    init_head(model, data, texts=len(y), seed=0, C=1e3)   # random tiny features: weak regularisation
    assert (split_proba(model, data).argmax(1) == y).mean() >= 0.8   # a fitted start, not a random head
    history = train(model, data, data, minutes=5, lr=1e-3, head_lr=3e-2, alpha=0.5, batch_tokens=256,
                    max_tokens=32, eval_minutes=5, seed=0, max_steps=60)
    assert history[-1]["steps"] == 60
    probs = split_proba(model, data)
    assert (probs.argmax(1) == y).mean() == 1.0
    temperature = fit_temperature(model, data)
    assert 0.2 <= temperature <= 5.0 and model.temperature == temperature
    np.testing.assert_allclose(split_proba(model, data).sum(1), 1.0, atol=1e-5)
