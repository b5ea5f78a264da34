"""Recall by context length × needle depth as a PNG heat map (refused cells hatched grey)."""

from __future__ import annotations

from pathlib import Path


def recall_heatmap(grid: list[list[float | None]], lengths: list[int], depths: list[float], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    values = np.array([[np.nan if v is None else v for v in row] for row in grid], dtype=float)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(depths), 1.0 + 0.5 * len(lengths)), dpi=100)
    ax.set_facecolor("#d0d0d0")
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, "refused" if v is None else f"{v:.0f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(depths)), [f"{d:g}" for d in depths])
    ax.set_yticks(range(len(lengths)), [f"{n:,}" for n in lengths])
    ax.set_xlabel("needle depth (0 = start)")
    ax.set_ylabel("context tokens")
    ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, label="recall %")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
