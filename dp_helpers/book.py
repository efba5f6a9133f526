"""What makes one notebook read well on the site, in JupyterLab and in Colab.

The chapters never import ``myst_nb`` (absent in Colab and in a plain Jupyter). Instead:

- a sentence that quotes computed numbers is written with :func:`say`: the numbers are formatted
  into Markdown and displayed as the cell's output, which the site, JupyterLab and Colab all render
  (the site hides the cell's code with the ``remove-input`` tag);
- a figure is the ordinary image output of its cell (:func:`show`); the site numbers and captions
  it from the cell's ``mystnb.figure`` metadata, and takes its alt text from ``mystnb.image.alt``;
- :func:`glue` is kept for readers' own books: it glues when myst-nb is installed and does
  nothing otherwise.

Spreads over seeds or splits are summarised with :func:`mean_interval` and written with
:func:`format_interval`, so every comparison that rests on random draws carries its noise.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")


def fill(template: str, **values: Any) -> str:
    """Format the named ``{name}`` / ``{name:spec}`` fields of ``template`` from ``values``.

    Unlike :meth:`str.format`, braces that do not name one of ``values`` are left alone, so LaTeX
    such as ``$\\hat{p}_j$`` needs no doubling. Every value must be used, which catches a misspelt
    field.

    Parameters
    ----------
    template : str
        Markdown text with fields such as ``{acc:.3f}`` or ``{n:,}``.
    **values
        The numbers (or strings) to put in.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        If ``template`` is not a string.
    ValueError
        If a value is never used in ``template``, or a format spec does not fit its value.

    Examples
    --------
    >>> fill(r"accuracy {acc:.3f} for $\\hat{p}$", acc=0.69341)
    'accuracy 0.693 for $\\\\hat{p}$'
    """
    if not isinstance(template, str):
        raise TypeError(f"template must be a str; got {type(template).__name__}")
    used: set[str] = set()

    def put(match: re.Match) -> str:
        name, spec = match[1], match[2] or ""
        if name not in values:
            return match[0]
        used.add(name)
        try:
            return format(values[name], spec)
        except (TypeError, ValueError) as err:
            raise ValueError(f"field {{{name}:{spec}}} cannot format {values[name]!r}: {err}") from None

    text = _FIELD.sub(put, template)
    unused = sorted(set(values) - used)
    if unused:
        raise ValueError(f"values {unused} are not used in the template; name them as {{{unused[0]}}}")
    return text


def say(template: str, **values: Any) -> None:
    """Display Markdown with computed numbers as the cell's output.

    The site, JupyterLab and Colab all render ``text/markdown`` outputs (math included), so the
    sentence reads the same everywhere. Keep MyST roles out of it (``{term}``, ``{eq}``): Colab
    would show them raw. See :func:`fill` for the field syntax.
    """
    from IPython.display import Markdown, display

    display(Markdown(fill(template, **values).strip()))


def show(fig: Any) -> None:
    """Display a matplotlib figure as the cell's image output and close it.

    Closing keeps the inline backend from drawing it a second time at the end of the cell.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def glue(name: str, value: Any, display: bool = False) -> Any:
    """``myst_nb.glue`` where myst-nb is installed; elsewhere nothing. Returns ``value``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        if display:
            from IPython.display import display as _display

            _display(value)
        return value
    _glue(name, value, display=display)
    return value


def mean_interval(values: Any, level: float = 0.95) -> tuple[float, float]:
    """Mean of repeated runs and the half-width of its Student-t confidence interval.

    Parameters
    ----------
    values : array-like of float
        One score per seed or split; at least two, all finite.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    (mean, half_width) : tuple of float

    Raises
    ------
    ValueError
        If fewer than two values are given, any is not finite, or ``level`` is not in (0, 1).

    Examples
    --------
    >>> mean_interval([0.80, 0.82, 0.84])
    (0.82, 0.0496...)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2:
        raise ValueError(f"values needs at least 2 runs for a spread; got {x.size}")
    if not np.isfinite(x).all():
        raise ValueError(f"values must all be finite; entry {int(np.flatnonzero(~np.isfinite(x))[0])} is {x[~np.isfinite(x)][0]}")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be a number strictly between 0 and 1; got {level!r}")
    half = stats.t.ppf(0.5 + level / 2, df=x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


def format_interval(values: Any, digits: int = 3, level: float = 0.95) -> str:
    """``"0.856 ± 0.004"``: the mean of repeated runs and its confidence half-width.

    Examples
    --------
    >>> format_interval([0.80, 0.82, 0.84])
    '0.820 ± 0.050'
    """
    mean, half = mean_interval(values, level)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def read_markdown_tables(path: Any) -> list:
    """Every pipe table in a Markdown file (such as a committed benchmark table), as DataFrames.

    Cells that read as numbers become numbers; the alignment row is skipped.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    list of pandas.DataFrame
        In the order the tables appear; empty if the file has none.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.md"
    >>> _ = f.write_text("text\\n\\n| model | acc |\\n|:--|--:|\\n| a | 0.5 |\\n")
    >>> read_markdown_tables(f)[0].to_dict("records")
    [{'model': 'a', 'acc': 0.5}]
    """
    import pandas as pd
    from pathlib import Path

    tables, rows = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip().startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= set(":-") and cell for cell in cells):   # skip |---|:--:|
                rows.append(cells)
        elif rows:
            frame = pd.DataFrame(rows[1:], columns=rows[0])
            for column in frame.columns:
                numbers = pd.to_numeric(frame[column], errors="coerce")
                if numbers.notna().all():
                    frame[column] = numbers
            tables.append(frame)
            rows = []
    return tables
