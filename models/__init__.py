"""Small trained artefacts that ship with voxlens, and the scripts that rebuild them.

- ``sentiment_branch/``: the default English sentiment model, a fine-tuned branch on MiniLM's frozen first
  layers (``weights.npz`` + ``card.json`` with provenance), run by ``voxlens.sentiment.branch_runtime``.
- ``previous/sentiment_head_v3/``: the earlier default, a head over frozen MiniLM embeddings (``head.npz`` +
  ``card.json``), the fallback when no branch model is installed; rebuilt by
  ``python -m voxlens.models.train_sentiment``; ``head_fit.py`` fits it on short texts and on whole reviews
  through the prediction-time sentence aggregate.
"""
