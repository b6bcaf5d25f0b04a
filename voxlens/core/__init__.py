"""The core every other package imports, and which imports none of them: the store, typed errors, stable
ids and privacy (hashing, redaction, secret masking).

Layers, bottom to top (checked by tests/test_layering.py): ``voxlens.core`` → the stages (``voxlens.collectors``, ``voxlens.sentiment``,
``voxlens.metrics``) → the app (``voxlens.pipeline``, ``voxlens.schedule``, ``voxlens.report``, the CLI).
"""
