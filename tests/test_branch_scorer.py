"""The branch model's runtime and scorer, on a tiny random artefact built here (no download, fast)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from voxlens.core.errors import ModelError
from voxlens.sentiment.branch import VERSION, SentimentBranch
from voxlens.sentiment.branch_runtime import BranchEncoder, check_graphs, load_branch, prepare_graphs
from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.model import SentimentModel
from voxlens.sentiment.scorers import BranchScorer
from voxlens.sentiment.segments import aggregate, fold, scoring_segments

SHORT = ["the parcel came late", "great service", "the app crashed", "great service"]
LONG = ("the parcel came late. the app crashed again and again. great service though. "
        "the parcel came late once more! the app crashed. great great service. the parcel came. "
        "late late late. the app crashed the app crashed. great service came late. the parcel.")
COLUMNS = ["p_negative", "p_neutral", "p_positive"]


@pytest.fixture
def branch_dir(tiny_encoder_dir: Path, tmp_path: Path) -> Path:
    """A random branch artefact over the tiny encoder: 1 trunk layer, 1 branch layer, a hidden head layer."""
    torch.manual_seed(0)
    branch = SentimentBranch(str(tiny_encoder_dir), trunk_layers=1, branch_layers=1, hidden=8, temperature=0.7,
                             long_text_chars=100)
    with torch.no_grad():          # move the branch away from the layer it was copied from
        for parameter in branch.branch.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    return branch.save(tmp_path / "branch", card={"seed": 0})


def tiny_model(branch_dir: Path, encoder_dir: Path, quantize: bool = False) -> SentimentModel:
    model = SentimentModel(quantize=quantize)
    model.__dict__["scorers_"] = {"default": BranchScorer(branch_dir, encoder=str(encoder_dir), batch_size=2,
                                                          quantize=quantize)}
    return model


def torch_proba(branch_dir: Path, encoder_dir: Path, segments: list[str]) -> np.ndarray:
    return SentimentBranch.load(branch_dir, encoder=str(encoder_dir)).predict_proba(segments).astype(np.float64)


def test_fp32_graphs_match_the_torch_module(branch_dir, tiny_encoder_dir):
    paths = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=False)
    assert check_graphs(load_branch(branch_dir, str(tiny_encoder_dir)), paths) <= 1e-4
    scorer = BranchScorer(branch_dir, encoder=str(tiny_encoder_dir), quantize=False)
    texts = [*SHORT, "late late late the parcel came", "great"]
    module = SentimentBranch.load(branch_dir, encoder=str(tiny_encoder_dir))
    with torch.inference_mode():
        expected = np.vstack([module.sentiment_logits(*module.tokenize([t])).numpy() for t in texts])
    scorer._load()
    np.testing.assert_allclose(scorer.head_.logits(scorer.encoder_.features(texts)), expected, atol=1e-4)
    np.testing.assert_allclose(scorer.predict_proba(texts), torch_proba(branch_dir, tiny_encoder_dir, texts),
                               atol=1e-5)


def test_torch_backend_scores_as_the_onnx_graphs(branch_dir, tiny_encoder_dir):
    texts = [*SHORT, LONG]
    onnx = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False, backend="onnx").run(texts, texts)
    plain = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False, backend="torch").run(texts, texts)
    for got, expected in zip(onnx, plain):
        np.testing.assert_allclose(got, expected, atol=1e-4)


def test_long_texts_are_read_in_windows_and_aggregated_by_length(branch_dir, tiny_encoder_dir):
    model = tiny_model(branch_dir, tiny_encoder_dir)
    scores = model.predict([*SHORT, LONG], langs=["en"] * 5)
    windows = scoring_segments(LONG, 100, windows=True)
    assert 1 < len(windows) < len(scoring_segments(LONG, 100)) and max(map(len, windows)) <= 100
    rows = torch_proba(branch_dir, tiny_encoder_dir, windows)
    expected = aggregate(rows, weights=[len(w) for w in windows])
    np.testing.assert_allclose(scores[COLUMNS].to_numpy()[-1], expected, atol=1e-5)
    np.testing.assert_allclose(scores[COLUMNS].to_numpy()[:4], torch_proba(branch_dir, tiny_encoder_dir, SHORT),
                               atol=1e-5)
    assert scores["sentences"].tolist() == [1, 1, 1, 1, len(windows)]


@pytest.fixture
def forwarded(monkeypatch) -> dict[str, list]:
    """Rows of every branch graph batch and texts of every plain encoder call."""
    calls: dict[str, list] = {"sentiment": [], "shared": [], "topic": []}
    original_forward, original_encode = BranchEncoder._forward, Encoder.encode

    def forward(self, kind, input_ids, mask):
        calls[kind].append(len(input_ids))
        return original_forward(self, kind, input_ids, mask)

    def encode(self, texts, **options):
        calls["topic"].append(list(texts))
        return original_encode(self, texts, **options)

    monkeypatch.setattr(BranchEncoder, "_forward", forward)
    monkeypatch.setattr(Encoder, "encode", encode)
    return calls


def test_predict_and_embed_runs_each_piece_once_and_gives_predict_and_encoder_results(branch_dir, tiny_encoder_dir,
                                                                                   forwarded):
    model = tiny_model(branch_dir, tiny_encoder_dir)
    texts = [*SHORT, LONG]
    scores, vectors = model.predict_and_embed(texts, langs=["en"] * len(texts))
    windows = scoring_segments(LONG, 100, windows=True)
    assert sum(forwarded["shared"]) == 3                       # the distinct short texts: trunk once, both outputs
    assert sum(forwarded["sentiment"]) == len(windows)        # the long text's windows: sentiment only
    assert forwarded["topic"] == [[LONG]]                      # the long text whole: topic vector only
    expected = model.predict(texts, langs=["en"] * len(texts))
    cols = ["score", *COLUMNS, "sentences"]
    np.testing.assert_allclose(scores[cols].to_numpy(float), expected[cols].to_numpy(float), atol=1e-5)
    assert scores["label"].tolist() == expected["label"].tolist()
    np.testing.assert_allclose(vectors, Encoder(str(tiny_encoder_dir)).encode(texts), atol=1e-5)


def test_pipeline_uses_the_branch_for_scores_and_topics_in_one_pass(branch_dir, tiny_encoder_dir, forwarded, store,
                                                                    tmp_path):
    from voxlens.collectors import import_reviews
    from voxlens.pipeline import Pipeline

    words = "the parcel came late app crashed great service".split()
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(words, size=int(rng.integers(2, 8)))) for _ in range(30)] + [LONG]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    import_reviews(store, path)
    model = tiny_model(branch_dir, tiny_encoder_dir)
    Pipeline(store, sentiment=model, chunk_size=10, fit_sample=20).analyze()
    assert store.count("scores") == len(texts) and store.count("topics") == len(texts)
    distinct = set(store.query("SELECT text FROM items")["text"])
    assert sum(forwarded["shared"]) == len(distinct) - 1         # every distinct short text once
    assert [t for call in forwarded["topic"] for t in call] == [LONG]
    stored = store.query("SELECT i.text, s.score, s.model FROM items i JOIN scores s USING (item_id)")
    assert set(stored["model"]) == {model.name} and f"en=voxlens/minilm-branch-sentiment@{VERSION};" in model.name
    direct = model.predict(stored["text"].tolist(), langs=["en"] * len(stored))
    np.testing.assert_allclose(stored["score"].to_numpy(), direct["score"].to_numpy(), atol=1e-5)


def test_int8_is_close_to_fp32_and_scores_under_its_own_name(branch_dir, tiny_encoder_dir):
    texts = [*SHORT, LONG, "late parcel", "crashed app great"]
    fp32, int8 = tiny_model(branch_dir, tiny_encoder_dir), tiny_model(branch_dir, tiny_encoder_dir, quantize=True)
    exact, quantised = fp32.predict(texts, langs=["en"] * 7), int8.predict(texts, langs=["en"] * 7)
    assert fp32._scorer(None).name == f"voxlens/minilm-branch-sentiment@{VERSION}"
    assert int8._scorer(None).name == f"voxlens/minilm-branch-sentiment@{VERSION}+int8"
    assert exact["model"].iloc[0] == f"voxlens/minilm-branch-sentiment@{VERSION}" and "+int8" in int8.name
    difference = np.abs(exact[COLUMNS].to_numpy() - quantised[COLUMNS].to_numpy()).max()
    assert 0 < difference < 0.05
    paths = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=True)
    assert {p.name for p in paths.values()} == {"sentiment.onnx", "shared.onnx"}
    assert paths["shared"].parent != prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=False)["shared"].parent


def test_the_default_english_route_is_the_branch_when_installed(branch_dir, tiny_encoder_dir, monkeypatch, tmp_path):
    import voxlens.sentiment.scorers as scorers
    from voxlens.sentiment.scorers import HeadScorer, build_scorer

    monkeypatch.setattr(scorers, "default_branch_dir", lambda: branch_dir)
    assert isinstance(build_scorer(None), BranchScorer)
    assert isinstance(build_scorer(str(branch_dir)), BranchScorer)
    monkeypatch.setattr(scorers, "default_branch_dir", lambda: tmp_path / "absent")
    assert isinstance(build_scorer(None), HeadScorer)


def test_a_new_default_rescores_the_store(branch_dir, tiny_encoder_dir, store, tmp_path):
    from voxlens.collectors import import_reviews
    from voxlens.pipeline import Pipeline
    from voxlens.sentiment.scorers import HeadScorer, SentimentHead

    texts = ["the parcel came late", "great service", "the app crashed", LONG]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    import_reviews(store, path)
    rng = np.random.default_rng(0)
    SentimentHead(rng.normal(size=(3, 32)), rng.normal(size=3), ["negative", "neutral", "positive"],
                  card={"version": "3"}).save(tmp_path / "head")
    old = SentimentModel(quantize=False)
    old.__dict__["scorers_"] = {"default": HeadScorer(head_dir=tmp_path / "head", encoder=str(tiny_encoder_dir))}
    Pipeline(store, sentiment=old).analyze()
    summary = Pipeline(store, sentiment=tiny_model(branch_dir, tiny_encoder_dir)).analyze()
    assert summary.scored == len(texts)
    models = store.query("SELECT model, count(*) AS n FROM scores GROUP BY model ORDER BY model")
    assert models["n"].tolist() == [len(texts), len(texts)]
    assert any(name.startswith(f"en=voxlens/minilm-branch-sentiment@{VERSION};") for name in models["model"])
    assert Pipeline(store, sentiment=tiny_model(branch_dir, tiny_encoder_dir)).analyze().scored == 0


def test_tune_builds_on_the_branch_model_and_its_tuned_model_scores(branch_dir, tiny_encoder_dir, store, monkeypatch):
    import functools

    import voxlens.ratings
    import voxlens.sentiment.scorers as scorers
    from voxlens.collectors import import_reviews
    from voxlens.models import adapt
    from voxlens.sentiment.scorers import TunedScorer, tuning_base

    monkeypatch.setattr(scorers, "default_branch_dir", lambda: branch_dir)
    monkeypatch.setattr(voxlens.ratings, "tuning_base", functools.partial(tuning_base, encoder=str(tiny_encoder_dir)))
    monkeypatch.setattr(adapt, "cross_validate", lambda *a, **k: adapt.CrossValidation(0.5, 0.6, 3, 90))
    words = {"negative": "the app crashed late", "neutral": "the parcel came", "positive": "great great service"}
    rng = np.random.default_rng(0)
    rows = [{"id": str(i), "text": f"{words[label]} {' '.join(rng.choice(list('the parcel'.split()), 2))}",
             "rating": {"negative": 1, "neutral": 3, "positive": 5}[label]}
            for i, label in enumerate(["negative", "neutral", "positive"] * 30)]
    rows.append({"id": "long", "text": LONG, "rating": 2})
    path = Path(store.path).with_name("rated.jsonl")
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_reviews(store, path, rating_scale=5)
    store.execute("UPDATE items SET lang = 'en'")

    base = tuning_base(encoder=str(tiny_encoder_dir))
    features, probs = base.features([LONG, "great service"])
    assert features.shape == (2, 32) and base.name == f"voxlens/minilm-branch-sentiment@{VERSION}"
    expected = SentimentModel(quantize=False)
    expected.__dict__["scorers_"] = {"default": BranchScorer(branch_dir, encoder=str(tiny_encoder_dir),
                                                             quantize=False)}
    np.testing.assert_allclose(probs, expected.predict_proba([LONG, "great service"], ["en", "en"]), atol=1e-5)

    result = voxlens.ratings.tune(store, folds=3)
    assert result.adopted, str(result)
    card = json.loads((Path(result.path) / "card.json").read_text())
    assert card["base"] == f"voxlens/minilm-branch-sentiment@{VERSION}"
    tuned = TunedScorer(head_dir=result.path, encoder=str(tiny_encoder_dir), quantize=False)
    scored = tuned.predict_proba([words["negative"], words["positive"], LONG])
    assert scored.shape == (3, 3) and np.allclose(scored.sum(axis=1), 1)
    assert scored[0].argmax() == 0 and scored[1].argmax() == 2
    assert tuned.topic_encoder().config() == Encoder(str(tiny_encoder_dir)).config()


@pytest.mark.slow
def test_on_minilm_the_fp32_graphs_match_the_module_and_int8_stays_close(tmp_path):
    texts = ["The parcel came two weeks late and support never answered.", "Great app, works perfectly!",
             "It is a phone case.", LONG]
    from voxlens.sentiment.scorers import default_branch_dir, is_branch_dir

    directory = default_branch_dir()
    if not is_branch_dir(directory):          # the runtime on MiniLM with a random branch of the default shape
        torch.manual_seed(0)
        directory = SentimentBranch(trunk_layers=2, branch_layers=2, hidden=64).save(tmp_path / "branch")
    module = SentimentBranch.load(directory)
    exact = BranchScorer(directory, quantize=False)
    windows = [w for t in texts for w in exact.segments(t)]
    np.testing.assert_allclose(exact.predict_proba(windows), module.predict_proba(windows), atol=1e-4)
    int8 = BranchScorer(directory).predict_proba(windows)
    assert np.abs(int8 - module.predict_proba(windows)).max() < 0.1
    features, vectors = exact.encoder_.run(texts[:3], texts[:3])
    np.testing.assert_allclose(vectors, Encoder().encode(texts[:3]), atol=1e-5)


def test_a_card_can_keep_the_last_branch_layer_fp32_in_int8(branch_dir, tiny_encoder_dir):
    import onnx

    from voxlens.sentiment.branch_runtime import kept_fp32

    default = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=True)
    card = json.loads((branch_dir / "card.json").read_text())
    (branch_dir / "card.json").write_text(json.dumps({**card, "int8_recipe": "ffn+last-branch-layer"}))
    kept = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=True)
    fp32 = onnx.load(str(prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=False)["sentiment"]))
    names = kept_fp32(fp32, "ffn+last-branch-layer")
    assert len([n for n in names if "/branch.0/" in n]) == 3 and sum(n.startswith("Attention") for n in names) == 1
    for kind in ("sentiment", "shared"):
        ops = [[n.op_type for n in onnx.load(str(paths[kind])).graph.node] for paths in (default, kept)]
        assert ops[0].count("QAttention") == ops[1].count("QAttention") + 1      # the branch's attention
        assert ops[0].count("MatMulInteger") == ops[1].count("MatMulInteger") + 2  # its projection and FFN input
    with pytest.raises(Exception, match="int8_recipe"):
        kept_fp32(fp32, "everything")


def test_the_torch_path_runs_fp32_graphs_and_its_int8_runs_the_quantised_copy(branch_dir, tiny_encoder_dir):
    texts = [*SHORT, LONG]
    exact = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False, backend="torch").run(texts, texts)
    default = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=True, backend="torch").run(texts, texts)
    for got, expected in zip(default, exact):                 # fp32 even for quantize: torch's int8 costs F1
        np.testing.assert_array_equal(got, expected)
    encoder = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False, backend="torch")
    encoder._load()
    encoder.sessions_ = encoder._torch_sessions(quantize=True)
    int8 = encoder.run(texts, texts)
    assert 0 < np.abs(int8[0] - exact[0]).max() < 0.2
    plain = Encoder(str(tiny_encoder_dir), quantize=True, backend="torch").encode(texts)
    assert np.abs(exact[1] - plain).max() > 1e-5             # int8 moves the vectors more than the tolerance
    np.testing.assert_allclose(int8[1], plain, atol=1e-5)     # the int8 graphs run the quantised weights


def test_graphs_that_fail_their_check_are_never_cached(branch_dir, tiny_encoder_dir, monkeypatch):
    from voxlens.sentiment import branch_runtime

    checked = []

    def failing_check(branch, paths):
        checked.append(sorted(paths))
        raise ModelError("the exported branch graphs differ from the torch model by 0.1")

    monkeypatch.setattr(branch_runtime, "check_graphs", failing_check)
    for _ in range(2):
        with pytest.raises(ModelError, match="differ from the torch model"):
            prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=False)
    assert checked == [["sentiment", "shared"]] * 2
    monkeypatch.undo()
    paths = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=False)
    assert sorted(p.name for p in paths["shared"].parent.glob("*.onnx")) == ["sentiment.onnx", "shared.onnx"]


def test_an_interrupted_int8_export_leaves_no_graph_a_later_run_loads(branch_dir, tiny_encoder_dir, monkeypatch):
    import onnxruntime as ort

    from voxlens.sentiment import onnx_backend

    original = onnx_backend.quantize_int8

    def interrupted(source, target, keep_fp32=None):
        if "shared" in Path(source).name:
            Path(target).write_bytes(b"half a graph")
            raise KeyboardInterrupt
        original(source, target, keep_fp32=keep_fp32)

    monkeypatch.setattr(onnx_backend, "quantize_int8", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=True)
    monkeypatch.undo()
    paths = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=True)
    ids, mask = np.array([[2, 4, 5, 3]]), np.ones((1, 4), dtype=np.int64)
    for path in paths.values():
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert session.run(None, {"input_ids": ids, "attention_mask": mask})[0].shape == (1, 32)
    assert not list(paths["shared"].parent.glob("*.partial.onnx"))


def test_a_missing_branch_artefact_is_a_model_error(tiny_encoder_dir, tmp_path):

    with pytest.raises(ModelError, match="no sentiment branch in"):
        BranchEncoder(tmp_path / "absent", str(tiny_encoder_dir)).run(["great service"])
    with pytest.raises(ModelError, match="no sentiment branch in"):
        prepare_graphs(tmp_path / "absent", str(tiny_encoder_dir))


def test_keeping_the_last_branch_layer_needs_a_branch_graph(tiny_encoder_dir):
    import onnx

    from voxlens.sentiment.branch_runtime import kept_fp32
    from voxlens.sentiment.onnx_backend import prepare

    plain, _ = prepare(str(tiny_encoder_dir))                    # the encoder alone: no branch layer
    with pytest.raises(ModelError, match="no branch layer found"):
        kept_fp32(onnx.load(str(plain)), "ffn+last-branch-layer")


def test_a_failed_branch_export_falls_back_to_torch_under_auto_and_is_an_error_under_onnx(branch_dir, tiny_encoder_dir,
                                                                                       monkeypatch, caplog):
    from voxlens.sentiment import branch_runtime

    def broken(*_):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(branch_runtime, "export_graphs", broken)
    with pytest.raises(ModelError, match="cannot export the sentiment branch .*unsupported operator"):
        BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False, backend="onnx").run(SHORT)
    encoder = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False)
    features = encoder.run(SHORT)[0]
    assert encoder.backend_ == "torch" and "unsupported operator" in caplog.text
    monkeypatch.undo()
    exact = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False, backend="onnx")
    np.testing.assert_allclose(features, exact.run(SHORT)[0], atol=1e-4)
    assert exact.backend_ == "onnx"


def test_the_torch_fallback_records_its_scores_without_int8_in_the_model_name(branch_dir, tiny_encoder_dir):
    scorer = BranchScorer(branch_dir, encoder=str(tiny_encoder_dir), quantize=True)
    scorer._load()
    scorer.encoder_.backend = "torch"                      # as when ONNX Runtime is not installed
    scorer.predict_proba(SHORT)
    assert scorer.encoder_.backend_ == "torch"
    assert scorer.name == f"voxlens/minilm-branch-sentiment@{VERSION}"
    onnx_scorer = BranchScorer(branch_dir, encoder=str(tiny_encoder_dir), quantize=True)
    assert onnx_scorer.name.endswith("+int8")              # before the first use: what will run
    onnx_scorer.predict_proba(SHORT)
    assert onnx_scorer.encoder_.backend_ == "onnx" and onnx_scorer.name.endswith("+int8")


def test_a_corrupt_cached_graph_is_exported_again(branch_dir, tiny_encoder_dir, caplog):
    expected = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=True).run(SHORT)[0]
    paths = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=True)
    paths["sentiment"].write_bytes(paths["sentiment"].read_bytes()[:100])   # cut short, as by a full disk
    encoder = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=True)
    np.testing.assert_allclose(encoder.run(SHORT)[0], expected, atol=1e-6)
    assert encoder.backend_ == "onnx" and "cannot load the ONNX graph" in caplog.text


def test_a_corrupt_cached_encoder_graph_is_exported_again(tiny_encoder_dir, caplog):
    from voxlens.sentiment.onnx_backend import OnnxEncoder, prepare

    ids, mask = np.array([[2, 4, 5, 3]]), np.ones((1, 4), dtype=np.int64)
    expected = OnnxEncoder.prepare(str(tiny_encoder_dir), quantize=True)(ids, mask)
    path, _ = prepare(str(tiny_encoder_dir), quantize=True)
    path.write_bytes(b"not a graph")
    np.testing.assert_allclose(OnnxEncoder.prepare(str(tiny_encoder_dir), quantize=True)(ids, mask), expected)
    assert "cannot load the ONNX graph" in caplog.text


def test_a_held_export_lock_is_a_clear_error_after_its_timeout(tmp_path):
    from filelock import FileLock

    from voxlens.sentiment.onnx_backend import cache_lock

    with FileLock(str(tmp_path / ".lock")):               # another process exporting the same model
        with pytest.raises(ModelError, match="exporting to .* for longer than 0 s"):
            with cache_lock(tmp_path, timeout=0.05):
                pass
    with cache_lock(tmp_path, timeout=0.05):               # free again
        assert (tmp_path / ".lock").exists()


def tiny_ranges(branch_dir: Path, encoder_dir: Path) -> dict:
    from transformers import AutoTokenizer

    from voxlens.sentiment.int8_smoothing import channel_ranges

    graph = prepare_graphs(branch_dir, str(encoder_dir), quantize=False)["sentiment"]
    return channel_ranges(graph, [*SHORT, LONG], AutoTokenizer.from_pretrained(str(encoder_dir)))


def test_activation_smoothing_keeps_the_fp32_function_and_rescales_wide_channels(branch_dir, tiny_encoder_dir, tmp_path):
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from voxlens.sentiment.int8_smoothing import smooth, weighted_inputs

    graph = prepare_graphs(branch_dir, str(tiny_encoder_dir), quantize=False)["sentiment"]
    ranges = tiny_ranges(branch_dir, tiny_encoder_dir)
    assert any(key.endswith("/attention/qkv") for key in ranges) and any("/branch.0/" in key for key in ranges)
    smoothed = tmp_path / "smoothed.onnx"
    assert smooth(graph, smoothed, ranges) == len(weighted_inputs(onnx.load(str(graph)))) > 0
    model = onnx.load(str(smoothed))
    scales = [numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("/smoothing")]
    assert sum(n.op_type == "Mul" and n.name.endswith("/Smooth") for n in model.graph.node) == len(scales)
    assert min(float(s.min()) for s in scales) < 1.0 and max(float(s.max()) for s in scales) <= 1.0
    ids, mask = np.array([[2, 4, 5, 6, 3], [2, 7, 3, 0, 0]]), np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    outputs = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(
        None, {"input_ids": ids, "attention_mask": mask})[0] for p in (graph, smoothed)]
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-4)
    assert smooth(graph, tmp_path / "branch-only.onnx", ranges, only="/branch.") < len(scales)


def test_the_smoothed_recipe_reads_the_shipped_ranges_and_stays_close_to_fp32(branch_dir, tiny_encoder_dir, tmp_path):
    import onnx

    from voxlens.sentiment.int8_smoothing import read_ranges, write_ranges

    copy = with_card(branch_dir, tmp_path, int8_recipe="smoothed")
    with pytest.raises(ModelError, match="needs int8_ranges.npz"):
        prepare_graphs(copy, str(tiny_encoder_dir), quantize=True)
    ranges = tiny_ranges(branch_dir, tiny_encoder_dir)
    write_ranges(copy, ranges)
    assert {k: v.tolist() for k, v in read_ranges(copy).items()} == {k: v.tolist() for k, v in ranges.items()}
    graphs = prepare_graphs(copy, str(tiny_encoder_dir), quantize=True)
    smoothing = {kind: [n.name for n in onnx.load(str(path)).graph.node if n.name.endswith("/Smooth")]
                 for kind, path in graphs.items()}
    assert smoothing["sentiment"] and smoothing["shared"]
    assert all("/branch." in name for name in smoothing["shared"])     # MiniLM's layers keep the encoder's recipe
    exact = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False).features(SHORT)
    assert 0 < np.abs(BranchEncoder(copy, str(tiny_encoder_dir)).features(SHORT) - exact).max() < 0.1

def with_card(branch_dir: Path, tmp_path: Path, **entries) -> Path:
    """A copy of the artefact whose card has ``entries`` added."""
    import shutil

    copy = Path(shutil.copytree(branch_dir, tmp_path / f"card-{len(list(tmp_path.iterdir()))}"))
    card = json.loads((copy / "card.json").read_text())
    (copy / "card.json").write_text(json.dumps({**card, **entries}))
    return copy


def test_int8_rows_near_a_class_boundary_are_scored_again_in_fp32(branch_dir, tiny_encoder_dir, tmp_path):
    from voxlens.sentiment.branch_runtime import uncertain_rows
    from voxlens.sentiment.scorers import SentimentHead

    texts = [*SHORT, LONG, "late parcel", "crashed app great", "service", "the the the"]
    exact = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False).features(texts)
    plain = BranchEncoder(with_card(branch_dir, tmp_path, int8_recipe="all"), str(tiny_encoder_dir)).features(texts)
    assert np.abs(plain - exact).max() > 1e-4
    head = SentimentHead.from_branch(branch_dir)
    margins = np.sort(head.predict_proba(plain), axis=1)
    margin = float(np.median(margins[:, -1] - margins[:, -2]))        # about half the rows fall under it
    uncertain = uncertain_rows(head.predict_proba(plain), margin)
    assert 0 < len(uncertain) < len(texts)
    encoder = BranchEncoder(with_card(branch_dir, tmp_path, int8_recipe="all", int8_fp32_margin=margin),
                            str(tiny_encoder_dir))
    mixed = encoder.features(texts)
    certain = np.setdiff1d(np.arange(len(texts)), uncertain)
    np.testing.assert_allclose(mixed[uncertain], exact[uncertain], atol=1e-5)
    np.testing.assert_array_equal(mixed[certain], plain[certain])
    assert encoder.fp32_rows_ == len(np.unique(np.array(texts)[uncertain]))   # each distinct text once
    torch_path = BranchEncoder(encoder.branch_dir, str(tiny_encoder_dir), backend="torch")
    np.testing.assert_allclose(torch_path.features(texts), exact, atol=1e-4)   # fp32 throughout: nothing redone
    assert torch_path.fp32_margin == 0.0


def test_the_fp32_margin_of_a_long_text_applies_to_its_folded_probabilities(branch_dir, tiny_encoder_dir,
                                                                             tmp_path):
    from voxlens.sentiment.branch_runtime import uncertain_rows
    from voxlens.sentiment.scorers import SentimentHead

    rng = np.random.default_rng(3)
    sentences = ["the parcel came late.", "great service!", "the app crashed again.", "late late late.",
                 "great great service.", "the parcel came."]
    texts = [*SHORT[:3], *(" ".join(rng.choice(sentences, 9)) for _ in range(12))]
    scorer = BranchScorer(with_card(branch_dir, tmp_path, int8_recipe="all"), encoder=str(tiny_encoder_dir))
    groups = [scorer.segments(t) for t in texts]
    counts = [len(g) for g in groups]
    pieces = [p for g in groups for p in g]
    assert max(counts) > 1
    head = SentimentHead.from_branch(branch_dir)
    exact = BranchEncoder(branch_dir, str(tiny_encoder_dir), quantize=False).features(pieces)
    scorer._load()
    plain = scorer.encoder_.features(pieces)
    folded = fold(groups, head.predict_proba(plain))
    top = np.sort(folded, axis=1)
    margin = float(np.median(top[:, -1] - top[:, -2]))
    uncertain = uncertain_rows(folded, margin)
    assert 0 < len(uncertain) < len(texts)
    redone = np.zeros(len(pieces), dtype=bool)
    for text in uncertain:
        redone[sum(counts[:text]):sum(counts[:text + 1])] = True
    settled = BranchEncoder(with_card(branch_dir, tmp_path, int8_recipe="all", int8_fp32_margin=margin),
                            str(tiny_encoder_dir))
    features = settled.run(pieces, groups=counts)[0]
    np.testing.assert_allclose(features[redone], exact[redone], atol=1e-5)      # every piece of a close text
    np.testing.assert_array_equal(features[~redone], plain[~redone])
    model = tiny_model(settled.branch_dir, tiny_encoder_dir, quantize=True)
    expected = fold(groups, head.predict_proba(np.where(redone[:, None], exact, plain)))
    np.testing.assert_allclose(model.predict_proba(texts, ["en"] * len(texts)), expected, atol=1e-5)
    scores, _ = model.predict_and_embed(texts, ["en"] * len(texts))
    np.testing.assert_allclose(scores[COLUMNS].to_numpy(), expected, atol=1e-5)
    with pytest.raises(ModelError, match="pieces"):
        settled.run(pieces, groups=[1])


def test_the_shared_graph_gives_the_plain_encoders_topic_vectors_under_every_recipe(branch_dir, tiny_encoder_dir,
                                                                                   tmp_path):
    from voxlens.sentiment.branch_runtime import INT8_RECIPES

    texts = [*SHORT, "late parcel"]
    expected = Encoder(str(tiny_encoder_dir), quantize=True).encode(texts)
    from voxlens.sentiment.int8_smoothing import write_ranges

    ranges = tiny_ranges(branch_dir, tiny_encoder_dir)
    for recipe in INT8_RECIPES:
        copy = with_card(branch_dir, tmp_path, int8_recipe=recipe)
        write_ranges(copy, ranges)
        encoder = BranchEncoder(copy, str(tiny_encoder_dir))
        np.testing.assert_allclose(encoder.run(texts, texts)[1], expected, atol=1e-5, err_msg=recipe)


def test_choosing_an_int8_recipe_reuses_the_fp32_graphs(branch_dir, tiny_encoder_dir, tmp_path):
    first = with_card(branch_dir, tmp_path, int8_recipe="all", int8_fp32_margin=0.0)
    second = with_card(branch_dir, tmp_path, int8_recipe="ffn", int8_fp32_margin=0.1)
    fp32 = [prepare_graphs(copy, str(tiny_encoder_dir), quantize=False)["sentiment"] for copy in (first, second)]
    int8 = [prepare_graphs(copy, str(tiny_encoder_dir), quantize=True)["sentiment"] for copy in (first, second)]
    assert fp32[0] == fp32[1] and int8[0] != int8[1]
    changed = with_card(branch_dir, tmp_path, temperature=2.0)           # any other card entry is part of the key
    assert prepare_graphs(changed, str(tiny_encoder_dir), quantize=False)["sentiment"] != fp32[0]


def test_topic_vectors_alone_do_not_load_the_branch_graphs(branch_dir, tiny_encoder_dir):
    encoder = BranchEncoder(branch_dir, str(tiny_encoder_dir))
    features, vectors = encoder.run([], SHORT)
    assert features.shape == (0, vectors.shape[1]) and getattr(encoder, "sessions_", None) is None
    np.testing.assert_allclose(vectors, Encoder(str(tiny_encoder_dir), quantize=True).encode(SHORT), atol=1e-6)
    encoder.run(SHORT[:1], SHORT)
    assert encoder.sessions_ is not None
