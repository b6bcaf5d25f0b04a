"""Measure whether fine-tuning the top encoder layers with the head pays, before shipping anything.

The shipped head sits on frozen MiniLM embeddings. Here the top ``--layers`` transformer layers of MiniLM
are trained together with the head (initialised from the shipped head) on the same training split and the
same losses as ``voxlens.models.train_sentiment``: cross-entropy on short texts, and on IMDB reviews the
cross-entropy of the opinion-weighted mean of their sentence probabilities. Lower layers and the token
embeddings stay frozen. Sequences are cut to ``--max-tokens``; ``--steps`` caps the run.

The temperature is refitted on the validation split. The script then prints macro-F1 of the shipped head
and of the fine-tuned model side by side on the held-out test split of each training source and on the
out-of-domain sets of ``bench.eval_sentiment`` (drugs.com, Amazon and Yelp sentences), all on the fp32
PyTorch path. Nothing is chosen on the out-of-domain sets: they are only printed.

Run (about 45 minutes on 2 cores shared with other work, with the defaults):
    python -m voxlens.models.finetune_top_layers --layers 2 --steps 900 [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _batches(tokenizer, texts: list[str], max_tokens: int):
    return tokenizer(texts, truncation=True, max_length=max_tokens, padding=True, return_tensors="pt")


class TunedEncoder:
    """MiniLM with its top layers trainable and the mean-pooled, L2-normalised output of ``Encoder``."""

    def __init__(self, layers: int = 2, max_tokens: int = 128, threads: int = 2) -> None:
        self.layers = layers
        self.max_tokens = max_tokens
        self.threads = threads
        self.name = f"minilm-top{layers}-tuned"

    def load(self) -> "TunedEncoder":
        import torch
        from transformers import AutoModel, AutoTokenizer

        from voxlens.sentiment.encoder import default_encoder_path

        torch.set_num_threads(self.threads)
        path = default_encoder_path()
        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        self.model_ = AutoModel.from_pretrained(path)
        for parameter in self.model_.parameters():
            parameter.requires_grad = False
        self.trainable_ = list(self.model_.encoder.layer[-self.layers:]) if self.layers else []
        for layer in self.trainable_:
            for parameter in layer.parameters():
                parameter.requires_grad = True
        return self

    def forward(self, texts: list[str]):
        import torch

        batch = _batches(self.tokenizer_, texts, self.max_tokens)
        hidden = self.model_(**batch).last_hidden_state
        mask = batch["attention_mask"][..., None].float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        import torch

        self.model_.eval()
        unique = list(dict.fromkeys(texts))
        order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
        out = np.zeros((len(unique), 384), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start:start + batch_size]
                out[index] = self.forward([unique[i] for i in index]).numpy()
        position = {text: i for i, text in enumerate(unique)}
        return out[[position[t] for t in texts]]


def head_network(head):
    """The shipped head as a torch module (hidden ReLU layer + output layer), temperature left out."""
    import torch

    hidden = torch.nn.Linear(head.hidden_weight.shape[1], head.hidden_weight.shape[0])
    out = torch.nn.Linear(head.coef.shape[1], head.coef.shape[0])
    with torch.no_grad():
        hidden.weight.copy_(torch.from_numpy(head.hidden_weight))
        hidden.bias.copy_(torch.from_numpy(head.hidden_bias))
        out.weight.copy_(torch.from_numpy(head.coef))
        out.bias.copy_(torch.from_numpy(head.intercept))
    return torch.nn.Sequential(hidden, torch.nn.ReLU(), torch.nn.Dropout(0.1), out)


def to_head(network, template):
    from voxlens.sentiment.scorers import SentimentHead

    hidden, out = network[0], network[3]
    return SentimentHead(out.weight.detach().numpy(), out.bias.detach().numpy(), template.classes, 1.0,
                         dict(template.card), hidden.weight.detach().numpy(), hidden.bias.detach().numpy())


def train(encoder: TunedEncoder, network, splits, steps: int, short_batch: int, review_batch: int, lr: float,
          seed: int) -> None:
    import torch

    from voxlens.models.head_fit import review_loss
    from voxlens.models.train_sentiment import LABELS, REVIEW_SOURCES
    from voxlens.sentiment.segments import scoring_segments

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_split = splits["train"]
    reviews = train_split["source"].isin(REVIEW_SOURCES).to_numpy()
    short, long = train_split[~reviews], train_split[reviews]
    short_texts, short_y = short["text"].tolist(), short["label"].map(LABELS.index).to_numpy()
    review_segments = [scoring_segments(t, 400) for t in long["text"]]
    review_y = long["label"].map(LABELS.index).to_numpy()
    parameters = [p for layer in encoder.trainable_ for p in layer.parameters()]
    optimiser = torch.optim.AdamW([{"params": parameters, "lr": lr},
                                   {"params": network.parameters(), "lr": lr * 5}], weight_decay=1e-4)
    # 50 warm-up steps, then a linear decay to zero at the last step.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps))
    encoder.model_.train()
    network.train()
    short_order, review_order = rng.permutation(len(short_texts)), rng.permutation(len(review_segments))
    started = time.time()
    for step in range(steps):
        index = short_order[(step * short_batch) % len(short_order):][:short_batch]
        if len(index) < short_batch:
            index = np.concatenate([index, short_order[:short_batch - len(index)]])
        chosen = review_order[(step * review_batch) % len(review_order):][:review_batch]
        logits = network(encoder.forward([short_texts[i] for i in index]))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(short_y[index]))
        if len(chosen):
            flat = [s for r in chosen for s in review_segments[r]]
            owner = torch.from_numpy(np.repeat(np.arange(len(chosen)), [len(review_segments[r]) for r in chosen]))
            chars = torch.tensor([float(len(s)) for s in flat])
            probs = torch.softmax(network(encoder.forward(flat)), dim=1)
            loss = loss + review_loss(probs, owner, chars, torch.from_numpy(review_y[chosen]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 50 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f} ({time.time() - started:.0f}s)", flush=True)
    encoder.model_.eval()
    network.eval()


def scores(model_proba, sets: dict) -> dict[str, float]:
    from voxlens.models.train_sentiment import LABELS, macro_f1

    return {name: round(macro_f1(frame["label"].map(LABELS.index).to_numpy(),
                                 model_proba(frame["text"].tolist()).argmax(axis=1)), 4)
            for name, frame in sets.items()}


def text_proba(encoder: TunedEncoder, head):
    """Texts → probabilities the way ``SentimentModel`` scores them (long texts per sentence, aggregated)."""
    from voxlens.models.head_fit import review_probabilities
    from voxlens.sentiment.segments import scoring_segments

    def proba(texts: list[str]) -> np.ndarray:
        groups = [scoring_segments(t, 400) for t in texts]
        flat = [s for g in groups for s in g]
        owner = np.repeat(np.arange(len(texts)), [len(g) for g in groups])
        return review_probabilities(head.predict_proba(encoder.encode(flat)), owner,
                                    np.array([len(s) for s in flat], dtype=float), len(texts))

    return proba


def main(argv: list[str] | None = None) -> None:
    from bench.eval_sentiment import UCI_SETS, drug_reviews, review_sentences
    from voxlens.models.head_fit import fit_temperature
    from voxlens.models.train_sentiment import SEED, TRAINING_SOURCES, embed_split, load_splits
    from voxlens.sentiment.scorers import SentimentHead, previous_head_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=2, help="top encoder layers to train with the head")
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--short-batch", type=int, default=32)
    parser.add_argument("--review-batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--save", type=Path, default=None, help="keep the trained layers and head here")
    args = parser.parse_args(argv)

    splits = load_splits(SEED, TRAINING_SOURCES)
    test = splits["test"]
    sets = {f"{s} (test)": test[test["source"] == s] for s in TRAINING_SOURCES}
    sets["drugs.com"] = drug_reviews()
    sets.update({name: review_sentences(name) for name in UCI_SETS})
    shipped = SentimentHead.load(previous_head_dir())
    validation = splits["validation"]
    val_sets = {f"{s} (validation)": validation[validation["source"] == s] for s in TRAINING_SOURCES}
    base = TunedEncoder(layers=0, max_tokens=args.max_tokens, threads=args.threads).load()
    before = {**scores(text_proba(base, shipped), val_sets), **scores(text_proba(base, shipped), sets)}
    print(json.dumps({"shipped head, fp32 torch, max_tokens": args.max_tokens, **before}), flush=True)

    encoder = TunedEncoder(args.layers, args.max_tokens, args.threads).load()
    network = head_network(shipped)
    started = time.time()
    train(encoder, network, splits, args.steps, args.short_batch, args.review_batch, args.lr, args.seed)
    head = to_head(network, shipped)
    fit_temperature(head, embed_split(splits["validation"], encoder, None))
    after = {**scores(text_proba(encoder, head), val_sets), **scores(text_proba(encoder, head), sets)}
    print(json.dumps({"fine-tuned": f"top {args.layers} layers, {args.steps} steps, lr {args.lr}",
                      "seconds": round(time.time() - started), "temperature": round(head.temperature, 3),
                      **after}), flush=True)
    if args.save:
        import torch

        args.save.mkdir(parents=True, exist_ok=True)
        head.save(args.save)
        torch.save({k: v for k, v in encoder.model_.state_dict().items()
                    if any(k.startswith(f"encoder.layer.{i}.") for i in range(6 - args.layers, 6))},
                   args.save / "top_layers.pt")


if __name__ == "__main__":
    main()
