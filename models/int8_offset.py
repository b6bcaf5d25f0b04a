"""Fit the int8 logit offset of a branch sentiment model: int8 weights shift its logits a little, the same way
on most texts, and a per-class offset added to the int8 head's logits takes that shift back out.

The offset minimises the cross-entropy between the fp32 graphs' probabilities (the targets) and the int8
graphs' on the validation splits of the training domains (the texts that chose the checkpoint; labels are
not read), segment by segment as prediction scores them. It is stored in the card as ``int8_logit_offset``
(logit units, before the temperature) and added only when the model runs in int8. Evaluation sets are never
read here.

Run (after ``train_branch`` has written the model; a few minutes on CPU):
    python -m voxlens.models.int8_offset                        # models/sentiment_branch/
    python -m voxlens.models.int8_offset --branch DIR --dry-run # print the fit, write nothing
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voxlens.models.branch_data import load_domains, review_domains, segment_texts


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def cross_entropy(targets: np.ndarray, logits: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(targets * log_probs).sum(axis=1).mean())


def fit_offset(fp32_logits: np.ndarray, int8_logits: np.ndarray) -> np.ndarray:
    """The per-class offset ``b`` (first class 0) minimising the cross-entropy of softmax(int8 + b) against
    softmax(fp32).

    Example:
        >>> fp32 = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5]])
        >>> (fit_offset(fp32, fp32 - [0.0, 0.3, 0.0]).round(3) + 0.0).tolist()
        [0.0, 0.3, 0.0]
    """
    from scipy.optimize import minimize

    targets = softmax(fp32_logits)

    def loss(free: np.ndarray) -> float:
        return cross_entropy(targets, int8_logits + np.concatenate([[0.0], free]))

    found = minimize(loss, np.zeros(fp32_logits.shape[1] - 1), method="Nelder-Mead",
                     options={"xatol": 1e-5, "fatol": 1e-9, "maxiter": 4000})
    return np.concatenate([[0.0], found.x])


def validation_segments(per_domain: int, seed: int) -> list[str]:
    """The segments of the training domains' validation texts (at most ``per_domain`` texts a domain)."""
    from voxlens.models.train_branch import SEED, capped
    from voxlens.models.train_sentiment import TRAINING_SOURCES

    data = load_domains(TRAINING_SOURCES, review_domains())
    validation = capped(data[data["split"] == "validation"], per_domain, seed if seed is not None else SEED)
    return [segment for group in segment_texts(validation["text"].tolist()) for segment in group]


def main(argv: list[str] | None = None) -> None:
    from voxlens.sentiment.branch_runtime import BranchEncoder
    from voxlens.sentiment.scorers import SentimentHead, default_branch_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branch", type=Path, default=None, help="the branch model (default: the shipped one)")
    parser.add_argument("--per-domain", type=int, default=600, help="validation texts per training domain")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--dry-run", action="store_true", help="print the fit, leave the card as it is")
    args = parser.parse_args(argv)
    branch = Path(args.branch or default_branch_dir())

    segments = validation_segments(args.per_domain, args.seed)
    head = SentimentHead.from_branch(branch)
    head.card.pop("int8_logit_offset", None)
    logits = {}
    for name, quantize in (("fp32", False), ("int8", True)):
        features = BranchEncoder(branch, quantize=quantize, progress=True).features(segments)
        logits[name] = head.logits(features) / head.temperature
    offset = fit_offset(logits["fp32"], logits["int8"])
    targets = softmax(logits["fp32"])
    agree = [float((logits["fp32"].argmax(1) == (logits["int8"] + b).argmax(1)).mean()) for b in (0, offset)]
    print(f"{len(segments)} validation segments; offset {np.round(offset, 4).tolist()} (after the temperature)")
    print(f"cross-entropy to fp32: {cross_entropy(targets, logits['int8']):.5f} -> "
          f"{cross_entropy(targets, logits['int8'] + offset):.5f}; same label as fp32: "
          f"{100 * agree[0]:.2f}% -> {100 * agree[1]:.2f}%")
    if args.dry_run:
        return
    card_path = branch / "card.json"
    card = json.loads(card_path.read_text())
    card["int8_logit_offset"] = [round(float(v) * head.temperature, 6) for v in offset]
    card["int8_logit_offset_fitted_on"] = (f"fp32 against int8 probabilities of {len(segments)} segments of the "
                                           f"training domains' validation texts ({args.per_domain} a domain)")
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote int8_logit_offset to {card_path}")


if __name__ == "__main__":
    main()
