"""Small matplotlib plots as PNG bytes, for the report and for Dagster materialization metadata.

The Dagster UI renders a markdown image with a ``data:`` URI, so a plot travels inside the event
log and needs no file server. Plots are deterministic (fixed size, no timestamps in the PNG), so
the same data gives the same bytes and the same report hash.
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_SIZE = (6.4, 3.2)
_PNG_META = {"Software": None}


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90, metadata=_PNG_META)
    plt.close(fig)
    return buffer.getvalue()


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str = "") -> bytes:
    fig, ax = plt.subplots(figsize=_SIZE)
    ax.bar(range(len(labels)), values, color="#4c72b0")
    ax.set_xticks(range(len(labels)), [str(label) for label in labels], rotation=30, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    return _png(fig)


def histogram(values: Sequence[float], title: str, xlabel: str, bins: int = 30, log_x: bool = False) -> bytes:
    import numpy as np

    fig, ax = plt.subplots(figsize=_SIZE)
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if log_x and data.size:
        data = data[data > 0]
        edges = np.logspace(np.log10(max(data.min(), 1)), np.log10(max(data.max(), 2)), bins) if data.size else bins
        ax.set_xscale("log")
    else:
        edges = bins
    ax.hist(data, bins=edges, color="#55a868")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    return _png(fig)


def log2_histogram(buckets: dict[int, int], title: str, unit: str) -> bytes:
    """Counts per power-of-two bucket (``floor(log2(value))``), aggregated where the data lives."""
    keys = sorted(buckets)
    labels = [f"{2 ** k:,}" if 2 ** k < 1024 else f"{2 ** k // 1024:,}Ki" for k in keys]
    return bar_chart(labels, [buckets[k] for k in keys], title, f"count (x = {unit}, lower bucket edge)")


def line_chart(series: dict[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str, ylabel: str,
               log_x: bool = False) -> bytes:
    """One line per named series of (x, y) points."""
    fig, ax = plt.subplots(figsize=_SIZE)
    for name, (xs, ys) in sorted(series.items()):
        ax.plot(list(xs), list(ys), marker="o", markersize=3, label=name)
    if log_x:
        ax.set_xscale("log")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(fontsize=7)
    return _png(fig)


def heatmap(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float]], title: str,
            xlabel: str, ylabel: str) -> bytes:
    """A rows × cols grid of values in [0, 1] (e.g. recall by depth × length), each cell labelled."""
    fig, ax = plt.subplots(figsize=_SIZE)
    image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols], fontsize=8)
    ax.set_yticks(range(len(rows)), [str(r) for r in rows], fontsize=8)
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value < 0.5 else "black")
    fig.colorbar(image, ax=ax)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _png(fig)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown the Dagster UI shows as the image itself (``MetadataValue.md``)."""
    return f"![{alt}]({data_uri(png)})"
