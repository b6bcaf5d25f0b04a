"""voxlens: turn raw customer feedback into flagged, evidenced issues.

The flow: ``collectors`` → :class:`voxlens.core.store.Store` → ``sentiment`` → ``metrics`` → :mod:`voxlens.report`.
"""

__version__ = "0.1.0"
