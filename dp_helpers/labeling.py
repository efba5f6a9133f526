"""Labeling functions: write them, apply them to data, and see how they behave together."""
from __future__ import annotations

import functools
import keyword
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._validation import check_binary_labels, check_label_matrix, is_sparse


class LabelingFunction:
    """A named function from one record to a vote: +1, -1, or 0 to abstain.

    Calling it checks the vote, so a typo such as ``return 2`` fails at the LF that made it.
    """

    def __init__(self, f: Callable[[Any], int], name: str | None = None):
        self.f = f
        self.name = name or f.__name__
        functools.update_wrapper(self, f)

    def __call__(self, x: Any) -> int:
        vote = self.f(x)
        if vote not in (-1, 0, 1):
            raise ValueError(
                f"LF {self.name!r} returned {vote!r}; an LF must return -1, 0 (abstain) or +1"
            )
        return int(vote)

    def __repr__(self) -> str:
        return f"LabelingFunction({self.name!r})"


def labeling_function(f: Callable | None = None, *, name: str | None = None):
    """Decorator that turns a function of one record into a :class:`LabelingFunction`.

    Works bare (``@labeling_function``) or with a name (``@labeling_function(name="kw")``).

    Examples
    --------
    >>> @labeling_function
    ... def lf_short(x):
    ...     return -1 if len(x) < 3 else 0
    >>> lf_short.name, lf_short("ab"), lf_short("abcd")
    ('lf_short', -1, 0)
    """
    if f is None:
        return lambda g: LabelingFunction(g, name=name)
    return LabelingFunction(f, name=name)


def apply_lfs(lfs: Sequence[Callable[[Any], int]], data: Iterable[Any], sparse: bool = False):
    """Run every LF on every record and collect the votes in a label matrix.

    Parameters
    ----------
    lfs : sequence of callables
        Each maps one record to -1, 0 or +1 (plain functions are wrapped).
    data : iterable of records, or a pandas DataFrame
        A DataFrame is read row by row as named tuples, so an LF can say ``x.age``.
    sparse : bool
        Return a ``scipy.sparse.csr_matrix`` (for large, mostly abstaining L).

    Returns
    -------
    L : ndarray of shape (n, m), int8, or csr_matrix

    Raises
    ------
    ValueError
        If there are no LFs, or an LF returns something other than -1, 0, +1.
    RuntimeError
        If an LF raises; the message names the LF and the record's position.

    Examples
    --------
    >>> lfs = [labeling_function(lambda x: 1 if x > 2 else 0, name="big"),
    ...        labeling_function(lambda x: -1 if x < 0 else 0, name="negative")]
    >>> apply_lfs(lfs, [3, -1, 1]).tolist()
    [[1, 0], [0, -1], [0, 0]]
    """
    lfs = [lf if isinstance(lf, LabelingFunction) else LabelingFunction(lf) for lf in lfs]
    if not lfs:
        raise ValueError("apply_lfs needs at least one labeling function")
    if isinstance(data, pd.DataFrame):
        _check_column_names(data)
        records = data.itertuples(index=False)
    else:
        records = data
    rows, cols, votes = [], [], []
    n = 0
    for i, record in enumerate(records):
        n += 1
        for j, lf in enumerate(lfs):
            try:
                vote = lf(record)
            except ValueError as err:
                raise ValueError(f"{err} (record {i})") from None
            except Exception as err:
                raise RuntimeError(f"LF {lf.name!r} failed on record {i}: {type(err).__name__}: {err}") from err
            if vote:
                rows.append(i)
                cols.append(j)
                votes.append(vote)
    L = sp.csr_matrix((np.array(votes, np.int8), (rows, cols)), shape=(n, len(lfs)), dtype=np.int8)
    return L if sparse else L.toarray()


def _check_column_names(df: pd.DataFrame) -> None:
    """Rows reach LFs as named tuples, which silently rename columns that are not identifiers."""
    bad = [c for c in df.columns if not (isinstance(c, str) and c.isidentifier()) or keyword.iskeyword(str(c))]
    if bad:
        raise ValueError(
            f"columns {bad} are not Python identifiers, so an LF cannot read them as x.<name>; "
            "rename them first, e.g. df.rename(columns=lambda c: c.replace(' ', '_'))"
        )


def lf_summary(L: Any, y: Any = None, names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per LF: what it votes, how often, and how it sits among the others.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)
    y : array-like of shape (n,), optional
        True labels (-1/+1), e.g. of a small labeled dev set; adds accuracy columns.
    names : sequence of m str, optional
        LF names for the index (default ``LF 0``, ``LF 1``, ...).

    Returns
    -------
    pandas.DataFrame
        ``polarity`` (the votes it ever casts), ``coverage`` (fraction of points it votes on),
        ``overlaps`` (fraction where it and at least one other LF vote), ``conflicts``
        (fraction where another LF votes the other way); with ``y``: ``correct``,
        ``incorrect`` and ``emp_accuracy`` (correct / votes, NaN for an LF that never votes).

    Examples
    --------
    >>> lf_summary([[1, 1], [1, -1], [0, -1]], y=[1, 1, -1]).round(2)
         polarity  coverage  overlaps  conflicts  correct  incorrect  emp_accuracy
    LF 0      [1]      0.67      0.67       0.33        2          0          1.00
    LF 1  [-1, 1]      1.00      0.67       0.33        2          1          0.67
    """
    L = check_label_matrix(L)
    n, m = L.shape
    rows, cols, vals = _triplets(L)
    pos_per_row = np.bincount(rows[vals > 0], minlength=n)
    neg_per_row = np.bincount(rows[vals < 0], minlength=n)
    votes_per_row = pos_per_row + neg_per_row
    overlapping = votes_per_row[rows] > 1
    conflicting = np.where(vals > 0, neg_per_row[rows] > 0, pos_per_row[rows] > 0)
    index = list(names) if names is not None else [f"LF {j}" for j in range(m)]
    if len(index) != m:
        raise ValueError(f"names has {len(index)} entries but L has {m} LFs (columns)")
    table = pd.DataFrame(
        {
            "polarity": [sorted(set(vals[cols == j].tolist())) for j in range(m)],
            "coverage": np.bincount(cols, minlength=m) / n,
            "overlaps": np.bincount(cols, weights=overlapping, minlength=m) / n,
            "conflicts": np.bincount(cols, weights=conflicting, minlength=m) / n,
        },
        index=index,
    )
    if y is not None:
        y = check_binary_labels(y, n=n)
        right = vals == y[rows]
        table["correct"] = np.bincount(cols, weights=right, minlength=m).astype(int)
        table["incorrect"] = np.bincount(cols, weights=~right, minlength=m).astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            table["emp_accuracy"] = table["correct"] / (table["correct"] + table["incorrect"])
    return table


def _triplets(L: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of every vote (nonzero entry)."""
    if is_sparse(L):
        coo = L.tocoo()
        return coo.row, coo.col, coo.data
    rows, cols = np.nonzero(L)
    return rows, cols, L[rows, cols]
