"""Reading a trained model's directory: its ``card.json`` and its ``.npz`` arrays.

Example:
    >>> read_artefact("/nowhere", "head.npz", "no sentiment head in /nowhere")
    Traceback (most recent call last):
    ...
    voxlens.core.errors.ModelError: no sentiment head in /nowhere
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from voxlens.core.errors import ModelError


def default_branch_dir() -> Path:
    """The shipped branch sentiment model (``models/sentiment_branch/``: ``weights.npz`` + ``card.json``),
    the English default when present."""
    from voxlens import models

    return Path(models.__file__).parent / "sentiment_branch"


def read_artefact(directory: str | Path, arrays_file: str, missing: str) -> tuple[dict, "np.lib.npyio.NpzFile"]:
    """(card, arrays) of ``directory``; :class:`ModelError` with the message ``missing`` when either is absent.

    The arrays are read lazily: an array is loaded when it is first indexed."""
    directory = Path(directory)
    try:
        card = json.loads((directory / "card.json").read_text())
        arrays = np.load(directory / arrays_file)
    except FileNotFoundError as exc:
        raise ModelError(missing) from exc
    return card, arrays
