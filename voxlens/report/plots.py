"""Plotly figures for reports, embedded as script-safe JSON (no CDN, no user text as markup)."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def safe_json(value: object) -> str:
    """JSON that cannot close a ``<script>`` element, whatever user text it holds."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_spec(figure: go.Figure) -> str:
    """The figure as JSON for ``Plotly.newPlot``."""
    return safe_json(figure.to_json())


def sentiment_trend(daily: pd.DataFrame) -> go.Figure:
    """Daily volume (bars) and 7-day mean sentiment score (line)."""
    daily = daily.sort_values("day")
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Bar(x=daily["day"], y=daily["items"], name="items per day",
                            marker_color="#c7d2e0"), secondary_y=False)
    figure.add_trace(go.Scatter(x=daily["day"], y=daily["mean_score"].rolling(7, min_periods=1).mean(),
                                name="sentiment (7-day mean)", line={"color": "#1f4e79", "width": 3}),
                     secondary_y=True)
    figure.add_trace(go.Scatter(x=daily["day"], y=daily["negative_share"].rolling(7, min_periods=1).mean(),
                                name="negative share (7-day)", line={"color": "#c0392b", "dash": "dot"}),
                     secondary_y=True)
    figure.update_yaxes(title_text="items", secondary_y=False)
    figure.update_yaxes(title_text="score / share", range=[-1, 1], secondary_y=True)
    figure.update_layout(height=360, margin={"l": 50, "r": 50, "t": 30, "b": 40},
                         legend={"orientation": "h", "y": -0.2}, template="plotly_white")
    return figure
