"""The branch sentiment model on CPU: ONNX graphs built from its torch module, int8 by default, cached.

Two graphs are exported from :class:`voxlens.sentiment.branch.SentimentBranch` the first time a model is
used, fused by ONNX Runtime's transformer optimizer and, by default, quantised per channel with the
card's ``int8_recipe`` (:func:`kept_fp32`; ``"smoothed"`` first applies :mod:`voxlens.sentiment.int8_smoothing`
with the artefact's ``int8_ranges.npz``; chosen by ``python -m voxlens.models.int8_recipe``). A card's
``"int8_fp32_margin"`` scores again with the fp32 graph each text whose int8 probabilities put two classes
closer than the margin (all the pieces of a long text whose folded probabilities do):

- ``sentiment``: token ids, mask → the branch's pooled representation (trunk + branch layers only);
- ``shared``: token ids, mask → (pooled representation, topic vector): the trunk runs once, then the
  original model's remaining layers give the topic vector and the branch gives sentiment.

The head (an optional hidden layer and 3 logits, a few hundred thousand weights) runs in NumPy in fp32 on
the pooled representation (``SentimentHead.from_branch``), which is also what a store's tuned model
reads. Texts that need only a topic vector go to the plain :class:`voxlens.sentiment.encoder.Encoder`.
The files are cached under ``$VOXLENS_CACHE_DIR/onnx`` keyed by the artefact's bytes, the base model and
the recipe; a graph is written under another name and takes its own only when complete (and, in fp32, checked
against the torch module), so an interrupted or failed export leaves nothing that a later run would load.
Without ONNX Runtime, or when the export fails under ``backend="auto"``, the same graphs run as torch modules,
in fp32 even when ``quantize`` (torch's per-tensor int8 costs about 5 macro-F1 points on them).

Example:
    >>> GRAPHS                       # exported once per artefact, base model and recipe
    ('sentiment', 'shared')
    >>> encoder = BranchEncoder("models/sentiment_branch")  # doctest: +SKIP
    >>> features, vectors = encoder.run(["Great app", "Slow refund"], ["Great app"])  # doctest: +SKIP
    >>> features.shape, vectors.shape  # doctest: +SKIP
    ((2, 384), (1, 384))
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from voxlens.core.errors import ModelError
from voxlens.sentiment.runtime import SCORING_MIN_FILL, intra_op_threads, length_batches, set_threads, unique_texts

log = logging.getLogger(__name__)

GRAPHS = ("sentiment", "shared")
# a card's ``int8_recipe``: which nodes int8 keeps in fp32 (see kept_fp32)
INT8_RECIPES = ("all", "smoothed", "last-branch-layer", "ffn", "ffn+last-branch-layer")
# part of the cache key
GRAPH_RECIPE = "branch graphs v2: pooled branch output; shared trunk; MiniLM FFN outputs fp32 in shared"
CHECK_TOLERANCE = 1e-4


def onnx_runner(session):
    """A graph's ONNX Runtime session as ``run(ids, mask) -> outputs``."""
    def run(ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        return session.run(None, {"input_ids": ids, "attention_mask": mask})
    return run


def uncertain_rows(probabilities: np.ndarray, margin: float) -> np.ndarray:
    """Rows whose two most likely classes are less than ``margin`` apart.

    >>> uncertain_rows(np.array([[0.5, 0.45, 0.05], [0.9, 0.05, 0.05]]), 0.1).tolist()
    [0]
    """
    top = np.sort(probabilities, axis=1)
    return np.flatnonzero(top[:, -1] - top[:, -2] < margin)


def artefact_key(branch_dir: str | Path, base_dir: str | Path, quantize: bool) -> str:
    """A digest of the artefact (weights, card and, for int8, the channel ranges), the base model (its files and
    the libraries) and the recipe. The fp32 graphs leave out the card's int8 entries, so choosing a recipe
    does not export them again."""
    from voxlens.sentiment.int8_smoothing import RANGES_FILE
    from voxlens.sentiment.onnx_backend import model_key

    directory = Path(branch_dir)
    card = read_card(directory)
    if not quantize:
        card = {key: value for key, value in card.items() if not key.startswith("int8_")}
    digest = hashlib.sha256(GRAPH_RECIPE.encode())
    digest.update((directory / "weights.npz").read_bytes())
    digest.update(json.dumps(card, sort_keys=True).encode())
    if quantize and (directory / RANGES_FILE).exists():
        digest.update((directory / RANGES_FILE).read_bytes())
    digest.update(model_key(base_dir, quantize).encode())
    return digest.hexdigest()[:20]


def layer_mask(bert, attention_mask, hidden):
    """The attention mask the base model's layers take, made by the library's own code as ``BertModel`` makes
    it (so the exported graph has the pattern ONNX Runtime fuses): ``create_bidirectional_mask`` in
    transformers 5, ``get_extended_attention_mask`` in transformers 4."""
    try:
        from transformers.masking_utils import create_bidirectional_mask
    except ImportError:      # transformers 4
        return bert.get_extended_attention_mask(attention_mask, attention_mask.shape, dtype=hidden.dtype)
    return create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)


def graph_modules(branch):
    """Torch modules of the two graphs, over a loaded ``SentimentBranch`` (in eval mode).

    Each module runs only the ``SentimentBranch`` it holds (``inner``), so a copy of it (torch's int8
    :func:`voxlens.sentiment.runtime.quantize_int8`) runs the copy's weights."""
    import torch

    from voxlens.sentiment.branch import mean_pool, run_layers

    class Sentiment(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = branch

        def trunk(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # the base model's own embedding and mask code, so the graph is the one ONNX Runtime fuses
            bert = self.inner.bert
            hidden = bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
            mask = layer_mask(bert, attention_mask, hidden)
            return run_layers(bert.encoder.layer[:self.inner.trunk_layers], hidden, mask), mask

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden, mask = self.trunk(input_ids, attention_mask)
            return mean_pool(run_layers(self.inner.branch, hidden, mask), attention_mask)

    class Shared(Sentiment):
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
            hidden, mask = self.trunk(input_ids, attention_mask)
            # the branch reads a reshaped view: each path's first attention then has its own input, which
            # the optimizer needs to fuse it (it fuses an attention whose input feeds exactly 3 MatMuls)
            features = mean_pool(run_layers(self.inner.branch, hidden.reshape(hidden.shape), mask), attention_mask)
            topic_layers = self.inner.bert.encoder.layer[self.inner.trunk_layers:]
            topic = mean_pool(run_layers(topic_layers, hidden, mask), attention_mask)
            return features, torch.nn.functional.normalize(topic, dim=1)

    return {"sentiment": Sentiment().eval(), "shared": Shared().eval()}


def load_branch(branch_dir: str | Path, encoder: str | None = None):
    """The torch module of the artefact, with the plain attention graph ONNX Runtime fuses."""
    from voxlens.sentiment.branch import SentimentBranch

    branch = SentimentBranch.load(branch_dir, encoder=encoder)
    for module in branch.modules():
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            try:
                config._attn_implementation = "eager"
            except (AttributeError, ValueError):  # pragma: no cover - older transformers
                pass
    return branch.eval()


def sample_batch(tokenizer) -> tuple[np.ndarray, np.ndarray]:
    batch = tokenizer(["a short text", "a somewhat longer text to export and check"], padding=True,
                      return_tensors="np", return_token_type_ids=False)
    return batch["input_ids"].astype(np.int64), batch["attention_mask"].astype(np.int64)


def export_graphs(branch, folder: Path) -> dict[str, Path]:
    """Export, fuse and check the fp32 graphs of ``branch`` into ``folder``: a graph gets its final name
    (``sentiment.onnx``, ``shared.onnx``) only once both have passed :func:`check_graphs`."""
    import torch

    from voxlens.sentiment.onnx_backend import fuse

    ids, mask = sample_batch(branch.tokenizer)
    checked = {kind: folder / f"{kind}.unchecked.onnx" for kind in GRAPHS}
    try:
        for kind, module in graph_modules(branch).items():
            raw, fused = folder / f"{kind}.raw.onnx", folder / f"{kind}.fused.onnx"
            outputs = ["features"] + (["topic"] if kind == "shared" else [])
            axes = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask")}
            axes.update({name: {0: "batch"} for name in outputs})
            try:
                with warnings.catch_warnings(), torch.inference_mode():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(module, (torch.from_numpy(ids), torch.from_numpy(mask)), str(raw),
                                      input_names=["input_ids", "attention_mask"], output_names=outputs,
                                      dynamic_axes=axes, opset_version=17, dynamo=False)
                (fused if fuse(raw, fused, branch.bert.config) else raw).replace(checked[kind])
            finally:
                for scratch in (raw, fused, folder / f"{kind}.raw.onnx.data"):
                    scratch.unlink(missing_ok=True)
        check_graphs(branch, checked)
        return {kind: path.replace(folder / f"{kind}.onnx") for kind, path in checked.items()}
    finally:
        for path in checked.values():
            path.unlink(missing_ok=True)


def check_graphs(branch, paths: dict[str, Path], tolerance: float = CHECK_TOLERANCE) -> float:
    """The largest difference between the fp32 graphs' outputs and the torch module's (raises above ``tolerance``)."""
    import onnxruntime as ort
    import torch

    ids, mask = sample_batch(branch.tokenizer)
    with torch.inference_mode():            # the torch module's own computation
        torch_ids, torch_mask = torch.from_numpy(ids), torch.from_numpy(mask)
        hidden = branch.trunk(torch_ids, torch_mask)
        expected = [branch.pooled_from_trunk(hidden, torch_mask).numpy(),
                    branch.topic_from_trunk(hidden, torch_mask).numpy()]
    worst = 0.0
    for kind, path in paths.items():
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input_ids": ids, "attention_mask": mask})
        worst = max(worst, *(float(np.abs(g - e).max()) for g, e in zip(got, expected)))
    if worst > tolerance:
        raise ModelError(f"the exported branch graphs differ from the torch model by {worst:.2g}")
    return worst


def kept_fp32(model, recipe: str = "ffn") -> list[str]:
    """The nodes the int8 copy of a fused graph keeps in fp32: none (``"all"``: every MatMul and attention
    block int8; ``"smoothed"``: the same after :mod:`voxlens.sentiment.int8_smoothing`), every weight of the
    last branch layer (``"last-branch-layer"``), each layer's feed-forward output (``"ffn"``, the encoder's
    recipe), or both (``"ffn+last-branch-layer"``). In the ``shared`` graph the
    MiniLM layers (trunk and topic path) always keep their feed-forward outputs fp32, as the plain encoder does,
    so its topic vectors equal the encoder's whatever the recipe."""
    from voxlens.sentiment.onnx_backend import ffn_output_matmuls

    if recipe not in INT8_RECIPES:
        raise ModelError(f"int8_recipe={recipe!r}: use one of {', '.join(INT8_RECIPES)}")
    keep = ffn_output_matmuls(model) if recipe.startswith("ffn") else []
    if "topic" in {output.name for output in model.graph.output}:
        # the shared graph's MiniLM layers keep the plain encoder's recipe, so its topic vectors equal the encoder's
        keep += [name for name in ffn_output_matmuls(model) if "/branch." not in name]
    if recipe.endswith("last-branch-layer"):
        nodes = list(model.graph.node)
        layers = [int(n.name.split("/branch.")[1].split("/")[0]) for n in nodes if "/branch." in n.name]
        if not layers:
            raise ModelError(f"int8_recipe={recipe!r} needs a graph of the sentiment branch (no branch layer found)")
        last = max(layers)
        layer = [n for n in nodes if n.op_type == "MatMul" and f"/branch.{last}/" in n.name]
        dense = {i for n in layer if n.name.endswith("attention/output/dense/MatMul") for i in n.input}
        keep += [n.name for n in layer] + [n.name for n in nodes if n.op_type == "Attention" and n.output[0] in dense]
    return sorted(set(keep))


def prepare_graphs(branch_dir: str | Path, encoder: str | None = None, quantize: bool = True) -> dict[str, Path]:
    """The cached graph files of the artefact (exported on first use; int8 copies of the fp32 ones)."""
    from voxlens.sentiment.encoder import resolve_model_path
    from voxlens.sentiment.int8_smoothing import smooth
    from voxlens.sentiment.onnx_backend import cache_lock, cache_root, quantize_int8

    card = read_card(branch_dir)
    base = resolve_model_path(encoder)
    folder = cache_root() / f"branch-{artefact_key(branch_dir, base, quantize)}"
    paths = {kind: folder / f"{kind}.onnx" for kind in GRAPHS}
    folder.mkdir(parents=True, exist_ok=True)
    with cache_lock(folder):
        if all(p.exists() for p in paths.values()):
            return paths
        log.info("%s the sentiment branch %s to ONNX (once; cached in %s)",
                 "quantising" if quantize else "exporting", branch_dir, folder)
        try:
            if quantize:
                import onnx

                recipe = card.get("int8_recipe", "ffn")
                for kind, source in prepare_graphs(branch_dir, encoder, quantize=False).items():
                    partial = folder / f"{kind}.partial.onnx"     # a graph gets its name only when complete
                    smoothed = folder / f"{kind}.smoothed.onnx"
                    try:
                        if recipe == "smoothed":     # the shared graph's MiniLM layers keep the encoder's recipe
                            smooth(source, smoothed, shipped_ranges(branch_dir), only="" if kind == "sentiment" else "/branch.")
                            source = smoothed
                        quantize_int8(source, partial, keep_fp32=kept_fp32(onnx.load(str(source)), recipe))
                        partial.replace(paths[kind])
                    finally:
                        partial.unlink(missing_ok=True)
                        smoothed.unlink(missing_ok=True)
            else:
                export_graphs(load_branch(branch_dir, encoder), folder)
        except Exception as exc:
            for path in paths.values():
                path.unlink(missing_ok=True)
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"cannot export the sentiment branch {branch_dir} to ONNX: {exc}; "
                             "use backend='torch'") from exc
    return paths


def shipped_ranges(branch_dir: str | Path) -> dict[str, np.ndarray]:
    """The channel ranges the ``"smoothed"`` recipe needs (:class:`ModelError` when the artefact has none)."""
    from voxlens.sentiment.int8_smoothing import RANGES_FILE, read_ranges

    ranges = read_ranges(branch_dir)
    if ranges is None:
        raise ModelError(f'int8_recipe="smoothed" needs {RANGES_FILE} in {branch_dir}: '
                         "run python -m voxlens.models.int8_recipe --branch DIR")
    return ranges


def read_card(branch_dir: str | Path) -> dict:
    """The artefact's ``card.json`` (:class:`ModelError` when the artefact is missing)."""
    from voxlens.sentiment.artefact import read_artefact

    card, arrays = read_artefact(branch_dir, "weights.npz", f"no sentiment branch in {branch_dir}")
    arrays.close()
    return card


class BranchEncoder:
    """Token ids of text segments → the branch's pooled representation and/or MiniLM topic vectors.

    :meth:`run` takes the texts that need a sentiment representation and those that need a topic vector:
    each distinct text is tokenised and encoded once, by the ``shared`` graph when it needs both, the
    ``sentiment`` graph when it needs only sentiment, and the plain :class:`Encoder` when it needs only a
    topic vector. Texts are batched by token length under a token budget, as the encoder does.

    Args:
        branch_dir: the artefact (``weights.npz`` + ``card.json``).
        encoder: the base model's directory (None: the offline MiniLM).
        quantize: int8 graphs (the default recipe); False runs them in exact fp32.
        batch_size, max_batch_tokens, progress, threads: as for :class:`voxlens.sentiment.encoder.Encoder`.
        backend: ``"auto"`` (ONNX Runtime when installed), ``"onnx"`` or ``"torch"``.
    """

    def __init__(self, branch_dir: str | Path, encoder: str | None = None, quantize: bool = True,
                 batch_size: int = 64, max_batch_tokens: int | None = 2048, progress: bool | None = None,
                 threads: int | None = None, backend: str = "auto") -> None:
        self.branch_dir = branch_dir
        self.encoder = encoder
        self.quantize = quantize
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.progress = progress
        self.threads = threads
        self.backend = backend

    @property
    def card(self) -> dict:
        if getattr(self, "card_", None) is None:
            self.card_ = read_card(self.branch_dir)
        return self.card_

    def topic_encoder(self):
        """The plain encoder whose vectors the shared graph's topic output equals (same model and config; on the
        torch path with ``quantize`` only roughly, as that path's graphs run fp32 and this encoder int8)."""
        if getattr(self, "topic_encoder_", None) is None:
            from voxlens.sentiment.encoder import Encoder

            self.topic_encoder_ = Encoder(model=self.encoder, batch_size=self.batch_size,
                                          max_length=int(self.card.get("max_tokens", 256)), progress=self.progress,
                                          quantize=self.quantize, max_batch_tokens=self.max_batch_tokens,
                                          threads=self.threads, backend=self.backend)
        return self.topic_encoder_

    def _load(self) -> None:
        """Tokenizer, config and one runner per graph (``sessions_`` last: it marks a complete load)."""
        if getattr(self, "sessions_", None) is not None:
            return
        from transformers import AutoConfig, AutoTokenizer

        from voxlens.sentiment.encoder import resolve_model_path

        set_threads(self.threads)
        path = resolve_model_path(self.encoder)
        try:
            self.tokenizer_ = AutoTokenizer.from_pretrained(path)
            self.config_ = AutoConfig.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the base encoder {path!r}: {exc}") from exc
        sessions = None
        if self.topic_encoder()._resolved_backend() == "onnx":
            try:
                sessions = self._onnx_sessions()
            except ModelError as exc:
                if self.backend == "onnx":
                    raise
                log.warning("%s; running the sentiment branch with torch instead", exc)
        self.sessions_ = sessions or self._torch_sessions()

    def _onnx_sessions(self) -> dict:
        from voxlens.sentiment.onnx_backend import load_or_export_again

        sessions = load_or_export_again(self._graph_sessions)
        self.backend_ = "onnx"
        return {kind: onnx_runner(session) for kind, session in sessions.items()}

    def _graph_sessions(self, quantize: bool | None = None, kinds: Sequence[str] = GRAPHS, lean: bool = False) -> dict:
        from voxlens.sentiment.onnx_backend import OnnxEncoder

        graphs = prepare_graphs(self.branch_dir, self.encoder, self.quantize if quantize is None else quantize)
        return {kind: OnnxEncoder(graphs[kind], ["input_ids", "attention_mask"], intra_op_threads(), lean).session
                for kind in kinds}

    def _torch_sessions(self, quantize: bool = False) -> dict:
        """The graphs as torch modules: in fp32 even for ``quantize`` (the default), since torch's int8 (per
        tensor, every linear layer) costs about 5 macro-F1 points on the branch model where ONNX Runtime's
        recipe costs under one (``bench/int8_recipes.py --torch``); ``quantize=True`` runs that int8."""
        import torch

        from voxlens.sentiment.runtime import quantize_int8

        branch = load_branch(self.branch_dir, self.encoder)
        modules = graph_modules(quantize_int8(branch) if quantize else branch)   # one int8 copy serves both

        def runner(module):
            def run(ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
                with torch.inference_mode():
                    out = module(torch.from_numpy(ids), torch.from_numpy(mask))
                return [o.float().numpy() for o in (out if isinstance(out, tuple) else (out,))]
            return run

        self.backend_ = "torch"
        return {kind: runner(module) for kind, module in modules.items()}

    @property
    def runs_int8(self) -> bool:
        """Whether the scores come from int8 graphs: ``quantize`` on ONNX Runtime (the torch fallback runs
        fp32); before the first use, whether they will."""
        if getattr(self, "sessions_", None) is not None:
            return self.quantize and self.backend_ == "onnx"
        return self.quantize and self.topic_encoder()._expected_backend() == "onnx"

    @property
    def dimension(self) -> int:
        self._load()
        return int(self.config_.hidden_size)

    def _forward(self, kind: str, input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        """One batch through the ``kind`` graph: [features] or [features, topic vectors]."""
        return self.sessions_[kind](input_ids, attention_mask)

    def run(self, sentiment_texts: Sequence[str], topic_texts: Sequence[str] = (),
            groups: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(pooled representations of ``sentiment_texts``, topic vectors of ``topic_texts``), float32, in order.

        ``groups``: when ``sentiment_texts`` are the pieces of whole texts, each text's number of pieces (in
        order); the fp32 margin then applies to each text's folded probabilities, which decide its label,
        rather than to each piece (:meth:`_pieces_to_settle`)."""
        from voxlens.sentiment.encoder import pad_batch

        sentiment_texts, topic_texts = [str(t) for t in sentiment_texts], [str(t) for t in topic_texts]
        unique, inverse = unique_texts(sentiment_texts + topic_texts)
        wants = np.zeros((len(unique), 2), dtype=bool)
        wants[inverse[:len(sentiment_texts)], 0] = True
        wants[inverse[len(sentiment_texts):], 1] = True
        scored = np.flatnonzero(wants[:, 0])
        if len(scored):             # the branch graphs are loaded (exported on first use) only for sentiment
            self._load()
        dimension = self.dimension if len(scored) else self.topic_encoder().dimension
        features = np.zeros((len(unique), dimension), dtype=np.float32)
        vectors = np.zeros((len(unique), dimension), dtype=np.float32)
        only_topic = np.flatnonzero(~wants[:, 0])
        if len(only_topic):
            vectors[only_topic] = self.topic_encoder().encode([unique[i] for i in only_topic])
        if len(scored):
            limit = min(int(self.card.get("max_tokens", 256)),
                        int(getattr(self.config_, "max_position_embeddings", 512)))
            ids = self.tokenizer_([unique[i] for i in scored], truncation=True, max_length=limit,
                                  return_attention_mask=False, return_token_type_ids=False)["input_ids"]
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            pad = self.tokenizer_.pad_token_id or 0
            work = [(kind, np.flatnonzero(wants[scored, 1] == (kind == "shared"))) for kind in GRAPHS]
            batches = [(kind, members[b]) for kind, members in work if len(members)
                       for b in length_batches(lengths[members], self.batch_size, self.max_batch_tokens,
                                               SCORING_MIN_FILL)]
            show = self.progress if self.progress is not None else len(scored) > 2000
            for kind, index in tqdm(batches, desc="scoring", unit="batch", disable=not show):
                input_ids, mask = pad_batch([ids[i] for i in index], lengths[index], pad)
                out = self._forward(kind, input_ids, mask)
                features[scored[index]] = out[0]
                if kind == "shared":
                    vectors[scored[index]] = out[1]
            if self.fp32_margin:
                pieces = self._pieces_to_settle(features[inverse[:len(sentiment_texts)]], sentiment_texts, groups)
                redo = np.searchsorted(scored, np.unique(inverse[pieces]))      # positions in ``scored``
                features[scored[redo]] = self._fp32_features([ids[i] for i in redo], lengths[redo], pad)
        return features[inverse[:len(sentiment_texts)]], vectors[inverse[len(sentiment_texts):]]

    @property
    def head(self):
        """The artefact's head (:class:`voxlens.sentiment.head.SentimentHead`), loaded once."""
        from voxlens.sentiment.head import SentimentHead

        if getattr(self, "head_", None) is None:
            self.head_ = SentimentHead.from_branch(self.branch_dir)
        return self.head_

    @property
    def fp32_margin(self) -> float:
        """The card's ``int8_fp32_margin`` when int8 graphs run, else 0."""
        return float(self.card.get("int8_fp32_margin", 0.0)) if self.runs_int8 else 0.0

    def _pieces_to_settle(self, features: np.ndarray, pieces: Sequence[str],
                          groups: Sequence[int] | None) -> np.ndarray:
        """Positions in ``pieces`` to score again in fp32: each piece whose head probabilities put two classes
        less than :attr:`fp32_margin` apart or, with ``groups``, every piece of each text whose folded
        probabilities do (int8 noise only decides near a class boundary, and a long text's label is that of
        its fold: its pieces can each be clear while their mean is close)."""
        from voxlens.sentiment.segments import fold, piece_positions

        probabilities = self.head.predict_proba(features)
        if groups is None:
            return uncertain_rows(probabilities, self.fp32_margin)
        if sum(groups) != len(pieces):
            raise ModelError(f"groups count {sum(groups)} pieces, got {len(pieces)}")
        ends = np.cumsum(groups)
        grouped = [pieces[end - count:end] for count, end in zip(groups, ends)]
        return piece_positions(groups, uncertain_rows(fold(grouped, probabilities), self.fp32_margin))

    def _fp32_features(self, ids: list, lengths: np.ndarray, pad: int) -> np.ndarray:
        """Pooled representations of tokenised pieces by the fp32 ``sentiment`` graph (loaded on first use)."""
        from voxlens.sentiment.encoder import pad_batch
        from voxlens.sentiment.onnx_backend import load_or_export_again

        if getattr(self, "fp32_", None) is None:
            fp32 = load_or_export_again(lambda: self._graph_sessions(quantize=False, kinds=["sentiment"], lean=True))
            self.fp32_ = onnx_runner(fp32["sentiment"])
        self.fp32_rows_ = getattr(self, "fp32_rows_", 0) + len(ids)
        features = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for batch in length_batches(lengths, self.batch_size, self.max_batch_tokens, SCORING_MIN_FILL):
            features[batch] = self.fp32_(*pad_batch([ids[i] for i in batch], lengths[batch], pad))[0]
        return features

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled branch representations of text segments (the sentiment graph only)."""
        return self.run(texts)[0]
