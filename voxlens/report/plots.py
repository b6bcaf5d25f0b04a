"""Plotly figures for reports, embedded as script-safe JSON (no CDN, no user text as markup)."""

from __future__ import annotations

import json
from typing import Iterable

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def safe_json(value: object) -> str:
    """JSON that cannot close a ``<script>`` element, whatever user text it holds."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plot_text(values: Iterable[object]) -> list[str]:
    """Labels for plotly, which reads a few HTML tags in text: entities make them show as typed."""
    return [str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for v in values]


def figure_spec(figure: go.Figure) -> str:
    """The figure as script-safe JSON for ``Plotly.newPlot``."""
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


def sparkline(series: pd.DataFrame, start: str | None = None) -> go.Figure:
    """A small chart of one topic's items per day (negative ones darker), the issue window shaded."""
    figure = go.Figure()
    figure.add_trace(go.Bar(x=series["day"], y=series["items"] - series["negative"], name="other",
                            marker_color="#d6dde6", hovertemplate="%{x|%d %b}: %{y} other<extra></extra>"))
    figure.add_trace(go.Bar(x=series["day"], y=series["negative"], name="negative", marker_color="#c0392b",
                            hovertemplate="%{x|%d %b}: %{y} negative<extra></extra>"))
    if start is not None and len(series):
        figure.add_vrect(x0=pd.Timestamp(start) - pd.Timedelta(hours=12),
                         x1=pd.Timestamp(series["day"].max()) + pd.Timedelta(hours=12),
                         fillcolor="#f5b7b1", opacity=0.35, line_width=0, layer="below")
    figure.update_layout(barmode="stack", height=110, showlegend=False, template="plotly_white",
                         margin={"l": 30, "r": 8, "t": 6, "b": 22}, bargap=0.15,
                         xaxis={"tickformat": "%d %b", "nticks": 6, "tickfont": {"size": 10}},
                         yaxis={"nticks": 3, "tickfont": {"size": 10}})
    return figure


def driver_chart(drivers: pd.DataFrame, limit: int = 12) -> go.Figure:
    """Key drivers of NPS: each driver's coefficient with its 95% interval, largest importance on top."""
    top = drivers.head(limit).iloc[::-1]
    colors = ["#c0392b" if c < 0 else "#1e8449" for c in top["coefficient"]]
    figure = go.Figure(go.Bar(
        x=top["coefficient"].tolist(), y=plot_text(top["label"]), orientation="h", marker_color=colors,
        error_x={"type": "data", "symmetric": False, "array": top["ci_high"] - top["coefficient"],
                 "arrayminus": top["coefficient"] - top["ci_low"], "color": "#5b6b7c"},
        customdata=top[["n", "p_value"]].to_numpy(),
        hovertemplate="%{y}<br>%{x:+.1f} NPS points (n=%{customdata[0]}, p=%{customdata[1]:.2g})<extra></extra>"))
    figure.update_layout(height=max(220, 34 * len(top) + 80), template="plotly_white",
                         margin={"l": 10, "r": 20, "t": 10, "b": 45},
                         xaxis={"title": {"text": "NPS points when mentioned (95% interval)"}, "zeroline": True,
                                "zerolinecolor": "#1d2733"},
                         yaxis={"automargin": True})
    return figure


def topic_chart(topics: pd.DataFrame, limit: int = 15) -> go.Figure:
    """Topics by volume, coloured by net sentiment (−100 red … +100 green)."""
    from plotly.colors import sample_colorscale

    top = topics.head(limit).iloc[::-1]
    net = top["net_sentiment"].fillna(0).clip(-100, 100)
    colors = sample_colorscale("RdYlGn", ((net + 100) / 200).tolist())
    figure = go.Figure(go.Bar(
        x=top["items"].tolist(), y=plot_text(f"{t}. {label}" for t, label in zip(top["topic_id"], top["label"])),
        orientation="h", marker={"color": colors},
        customdata=net.tolist(), hovertemplate="%{y}: %{x} items, net sentiment %{customdata:+.0f}<extra></extra>"))
    figure.update_layout(height=max(220, 26 * len(top) + 70), template="plotly_white",
                         margin={"l": 10, "r": 10, "t": 10, "b": 40},
                         xaxis={"title": {"text": "items (colour: net sentiment, red negative, green positive)"}},
                         yaxis={"automargin": True})
    return figure


def issue_timeline(issues: list[dict], colours: dict[str, str]) -> go.Figure:
    """Each issue a bar from its onset to its last day seen (or its end), coloured by status."""
    figure = go.Figure()
    labels = plot_text(f"{rank}. {i['topic']['label']}" for rank, i in enumerate(issues, start=1))
    for status, colour in colours.items():
        rows = [(label, i) for label, i in zip(labels, issues) if i["status"] == status]
        if not rows:
            continue
        starts = [pd.Timestamp(i["onset"]) for _, i in rows]
        ends = [pd.Timestamp(i["ended"] or i["last_seen"]) + pd.Timedelta(days=1) for _, i in rows]
        figure.add_trace(go.Bar(
            y=[label for label, _ in rows], base=[s.isoformat() for s in starts], orientation="h",
            x=[(e - s).total_seconds() * 1000 for s, e in zip(starts, ends)], name=status, marker_color=colour,
            customdata=[[i["onset"], i["ended"] or i["last_seen"], i["first_flagged"]] for _, i in rows],
            hovertemplate="%{y}<br>from %{customdata[0]} to %{customdata[1]} (first flagged %{customdata[2]})"
                          "<extra>" + status + "</extra>"))
    figure.update_layout(height=max(160, 28 * len(issues) + 80), template="plotly_white", barmode="overlay",
                         margin={"l": 10, "r": 10, "t": 10, "b": 40}, legend={"orientation": "h", "y": -0.25},
                         xaxis={"type": "date", "tickformat": "%d %b"},
                         yaxis={"automargin": True, "autorange": "reversed", "type": "category"})
    return figure


def metric_drop_chart(facets: dict) -> go.Figure | None:
    """An issue's survey-metric drops as points with their 95% intervals (None without any)."""
    drops = [f for f in facets.values() if f.get("kind") == "metric_drop" and isinstance(f.get("change"), (int, float))]
    if not drops:
        return None
    figure = go.Figure(go.Scatter(
        x=[f["change"] for f in drops], y=[str(f.get("metric", "")).upper() for f in drops], mode="markers",
        marker={"color": "#c0392b", "size": 9},
        error_x={"type": "data", "symmetric": False, "color": "#5b6b7c",
                 "array": [f["ci_high"] - f["change"] for f in drops],
                 "arrayminus": [f["change"] - f["ci_low"] for f in drops]},
        hovertemplate="%{y}: %{x:+.1f} (95% interval)<extra></extra>"))
    figure.update_layout(height=60 + 30 * len(drops), template="plotly_white", showlegend=False,
                         margin={"l": 10, "r": 10, "t": 6, "b": 30},
                         xaxis={"zeroline": True, "zerolinecolor": "#1d2733", "title": {"text": "change (95% interval)"}},
                         yaxis={"automargin": True})
    return figure
