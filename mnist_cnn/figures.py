"""Plotly figures shared by the pages: probabilities, the confusion matrix, counts per label."""
import copy
import functools

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from mnist_cnn.contrast import DARK_TEXT, readable_text_colour

DIGITS = list(range(10))
ACCENT = "#1d4ed8"
MUTED = "#cbd5e1"
CORRECT_BACKGROUND = "#f1f5f9"
CORRECT_TEXT = "#475569"  # 7:1 on CORRECT_BACKGROUND (WCAG AA needs 4.5:1)
# Plotly text in the app's dark grey, not the theme's lighter grey (under 4.5:1 on white).
# Each set explicitly: Streamlit's theme sets tick and title fonts itself, over layout.font and axis colour.
READABLE_TEXT = dict(font=dict(color=DARK_TEXT))
READABLE_AXIS = dict(color=DARK_TEXT, tickfont=dict(color=DARK_TEXT), title_font=dict(color=DARK_TEXT))


def probability_bar_chart(probabilities, height=260):
    """Bars of the ten class probabilities, the most likely digit highlighted.

    ``None`` gives the same axes with no bars, for a page that shows the chart before there is
    anything to predict (so the chart is updated in place rather than created on each drawing).
    """
    if probabilities is None:
        probabilities, best = np.zeros(10), None
    else:
        probabilities = np.asarray(probabilities, dtype=float).reshape(-1)
        if probabilities.shape != (10,):
            raise ValueError(f"Expected 10 probabilities, got {probabilities.size}.")
        best = int(probabilities.argmax())
    spec = copy.deepcopy(_bar_chart_template(height))
    bars = spec["data"][0]
    bars["y"] = probabilities
    bars["marker"]["color"] = [ACCENT if digit == best else MUTED for digit in DIGITS]
    bars["text"] = [f"{p:.0%}" if p >= 0.01 else "" for p in probabilities]
    # The template was validated once; validating plotly's whole schema again costs ~10 ms a chart
    # (most of a what-if slider change).
    return go.Figure(spec, _validate=False)


@functools.lru_cache(maxsize=4)
def _bar_chart_template(height):
    figure = go.Figure(
        go.Bar(
            x=DIGITS,
            y=np.zeros(10),
            marker_color=[MUTED] * 10,
            text=[""] * 10,
            textposition="outside",
            textfont=dict(color=DARK_TEXT),
            hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="digit", tickmode="array", tickvals=DIGITS, fixedrange=True, **READABLE_AXIS),
        yaxis=dict(title="probability", range=[0, 1.15], tickformat=".0%", fixedrange=True, **READABLE_AXIS),
        showlegend=False,
        **READABLE_TEXT,
    )
    return figure.to_dict()


def confusion_cells(confusion):
    """Rows of the confusion matrix as cells to draw: count, background and text colour.

    Mistakes are shaded from white to dark red by count; correct predictions (the diagonal) stay
    grey so the colour scale is spent on mistakes, and empty cells stay white.
    """
    confusion = np.asarray(confusion)
    if confusion.shape != (10, 10):
        raise ValueError(f"Expected a 10 x 10 confusion matrix, got shape {confusion.shape}.")
    off_diagonal = confusion * (1 - np.eye(10, dtype=confusion.dtype))
    most = max(1, int(off_diagonal.max()))
    rows = []
    for true_digit in DIGITS:
        row = []
        for predicted in DIGITS:
            count = int(confusion[true_digit, predicted])
            if true_digit == predicted:
                background, colour = CORRECT_BACKGROUND, CORRECT_TEXT
            elif count == 0:
                background, colour = "#ffffff", CORRECT_TEXT
            else:
                shade = 0.25 + 0.75 * count / most  # the lightest mistake is still clearly red
                background = sample_colorscale("Reds", [shade])[0]
                colour = readable_text_colour(background)
            row.append({"count": count, "background": background, "color": colour})
        rows.append(row)
    return rows


def confusion_matrix_figure(confusion):
    """Heatmap of mistakes (true digit down, predicted digit across).

    The diagonal (correct predictions) is shown as grey text so the colour scale is spent on
    mistakes. Every cell carries an invisible marker because plotly heatmap cells themselves
    cannot be selected with a click; the markers can, and report ``x`` (predicted) and ``y`` (true).
    """
    confusion = np.asarray(confusion)
    mistakes = confusion.astype(float)
    np.fill_diagonal(mistakes, np.nan)
    mistakes[mistakes == 0] = np.nan  # empty cells stay white
    text = [[str(confusion[t, p]) if confusion[t, p] and t != p else "" for p in DIGITS] for t in DIGITS]
    figure = go.Figure(
        go.Heatmap(
            z=mistakes,
            x=DIGITS,
            y=DIGITS,
            colorscale="Reds",
            zmin=0,
            zmax=max(1, np.nanmax(mistakes, initial=0)) if np.isfinite(mistakes).any() else 1,
            text=text,
            texttemplate="%{text}",
            hoverinfo="skip",
            colorbar=dict(title="mistakes"),
        )
    )
    true_grid, predicted_grid = np.meshgrid(DIGITS, DIGITS, indexing="ij")
    figure.add_trace(
        go.Scatter(
            x=predicted_grid.ravel(),
            y=true_grid.ravel(),
            mode="markers",
            marker=dict(symbol="square", size=30, color="rgba(0,0,0,0)"),
            customdata=confusion.ravel(),
            hovertemplate="true %{y}, predicted %{x}: %{customdata}<extra></extra>",
            showlegend=False,
        )
    )
    for digit in DIGITS:
        figure.add_annotation(x=digit, y=digit, text=str(confusion[digit, digit]), showarrow=False, font=dict(color=CORRECT_TEXT, size=11))
    figure.update_layout(
        height=460,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="predicted digit", tickvals=DIGITS, side="top", fixedrange=True, constrain="domain", **READABLE_AXIS),
        yaxis=dict(title="true digit", tickvals=DIGITS, autorange="reversed", fixedrange=True, scaleanchor="x", **READABLE_AXIS),
        **READABLE_TEXT,
        plot_bgcolor="white",
        clickmode="event+select",
        dragmode=False,
    )
    return figure


def label_counts_figure(counts, height=240):
    """Bars of how many digits each label has."""
    counts = np.asarray(counts).reshape(-1)
    if counts.shape != (10,):
        raise ValueError(f"Expected 10 counts, got {counts.size}.")
    figure = go.Figure(
        go.Bar(
            x=DIGITS,
            y=counts,
            marker_color=ACCENT,
            text=[str(int(count)) for count in counts],
            textposition="outside",
            textfont=dict(color=DARK_TEXT),
            hovertemplate="digit %{x}: %{y}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="label", tickmode="array", tickvals=DIGITS, fixedrange=True, **READABLE_AXIS),
        yaxis=dict(title="digits", range=[0, max(1, counts.max()) * 1.2], fixedrange=True, **READABLE_AXIS),
        showlegend=False,
        **READABLE_TEXT,
    )
    return figure
