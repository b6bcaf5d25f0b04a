"""Small trained artefacts that ship with voxlens, and the scripts that rebuild them.

- ``sentiment_head/``: the default sentiment head (``head.npz`` + ``card.json`` with provenance),
  rebuilt by ``python -m voxlens.models.train_sentiment``; ``head_fit.py`` fits it on short texts and on whole
  reviews through the prediction-time sentence aggregate.
"""
