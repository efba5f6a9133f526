"""Figures the chapters share, in the book's style (``book.mplstyle``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._validation import check_label_matrix, is_sparse

STYLE = Path(__file__).with_name("book.mplstyle")
# Okabe-Ito colours for the three vote values, so "+1", "-1" and "abstain" read the same everywhere.
VOTE_COLOURS = {-1: "#D55E00", 0: "#F2F2F2", 1: "#0072B2"}


def use_book_style() -> None:
    """Apply the book's matplotlib style (fonts sized for a projector, colour-blind-safe)."""
    import matplotlib.pyplot as plt

    plt.style.use(str(STYLE))


def plot_label_matrix(L: Any, rows: int = 60, ax=None):
    """Heat map of the first ``rows`` rows of ``L``: blue +1, orange -1, light grey abstain.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.ticker import MaxNLocator

    L = check_label_matrix(L)
    block = L[:rows].toarray() if is_sparse(L) else np.asarray(L[:rows])
    ax = ax or plt.gca()
    cmap = ListedColormap([VOTE_COLOURS[-1], VOTE_COLOURS[0], VOTE_COLOURS[1]])
    ax.imshow(block.T, cmap=cmap, vmin=-1.5, vmax=1.5, aspect="auto", interpolation="nearest")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("data point (row of L)")
    ax.set_ylabel("labeling function (column of L)")
    ax.grid(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=VOTE_COLOURS[v], ec="0.6") for v in (1, -1, 0)]
    ax.legend(handles, ["+1", "-1", "abstain"], loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def plot_accuracy_recovery(true_accuracies: Any, estimated: Any, ax=None, label: str | None = None):
    """Estimated against true LF accuracies, with the diagonal of perfect recovery.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    true_accuracies = np.asarray(true_accuracies, dtype=float)
    estimated = np.asarray(estimated, dtype=float)
    ax = ax or plt.gca()
    low = min(true_accuracies.min(), estimated.min()) - 0.02
    high = max(true_accuracies.max(), estimated.max()) + 0.02
    ax.plot([low, high], [low, high], color="0.5", linestyle="--", linewidth=1.5, label="perfect recovery")
    ax.scatter(true_accuracies, estimated, zorder=3, label=label)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_xlabel("true accuracy $p_j$")
    ax.set_ylabel(r"estimated accuracy $\hat p_j$")
    ax.legend(loc="upper left")
    return ax
