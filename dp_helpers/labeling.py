"""Labeling functions: write them, apply them to data, and see how they behave together."""
from __future__ import annotations

import functools
import keyword
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._validation import check_binary_labels, check_class_labels, check_label_matrix, check_n_classes, is_sparse


class LabelingFunctionError(RuntimeError):
    """An LF raised on a record. ``lf`` is its name, ``record`` the record's index label (or its
    position, for records that are not rows of a DataFrame)."""

    def __init__(self, lf: str, record: Any, cause: BaseException):
        self.lf, self.record, self.cause = lf, record, cause
        super().__init__(
            f"LF {lf!r} failed on record {record!r}: {type(cause).__name__}: {cause} "
            "(on_error='skip' makes it abstain there and collects the failures)"
        )

    def __reduce__(self):  # rebuilt from its parts when a worker sends it to the client
        return type(self), (self.lf, self.record, self.cause)


def callable_name(f: Callable, name: str | None = None, kind: str = "labeling function") -> str:
    """The name an LF goes by: ``name`` if given, else the function's ``__name__``; a
    ``functools.partial`` is named after its function and arguments, ``kw(word='refund')``."""
    if name is not None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str; got {name!r}")
        return name
    if isinstance(f, functools.partial):
        args = [repr(a) for a in f.args] + [f"{k}={v!r}" for k, v in f.keywords.items()]
        return f"{callable_name(f.func, kind=kind)}({', '.join(args)})"
    found = getattr(f, "name", None) or getattr(f, "__name__", None)
    if not isinstance(found, str):
        raise TypeError(f"this {kind} ({f!r}) has no __name__; give it one: name=...")
    return found


class LabelingFunction:
    """A named function from one record to a vote: +1, -1, or 0 to abstain; with ``n_classes=K``,
    a class 1..K or 0 to abstain.

    Calling it checks the vote, so a typo such as ``return 2`` (or ``return x > 3``, a bool)
    fails at the LF that made it.
    """

    def __init__(self, f: Callable[[Any], int], name: str | None = None, n_classes: int | None = None):
        if not callable(f):
            raise TypeError(f"a labeling function must be callable; got {type(f).__name__}")
        name = callable_name(f, name)
        if isinstance(f, LabelingFunction):  # re-wrapping (e.g. to rename): wrap the function itself
            n_classes = f.n_classes if n_classes is None else n_classes
            f = f.f
        self.f = f
        try:
            functools.update_wrapper(self, f)
        except AttributeError:  # e.g. a partial or a callable object
            pass
        self.name = name  # after update_wrapper, which copies the wrapped function's attributes
        self.n_classes = check_n_classes(n_classes, high=127)

    def __call__(self, x: Any) -> int:
        return check_vote(self.f(x), self.name, n_classes=self.n_classes)

    def __repr__(self) -> str:
        return f"LabelingFunction({self.name!r})"


def check_vote(vote: Any, name: str, record: Any = None, n_classes: int | None = None) -> int:
    """``vote`` as an int -1, 0 or +1 (with ``n_classes=K``: 0 or 1..K), or an error naming the LF
    (and the record)."""
    where = f" for record {record!r}" if record is not None else ""
    if isinstance(vote, (bool, np.bool_)):
        raise TypeError(
            f"LF {name!r} returned {vote!r}{where}; an LF returns a vote, not a condition: "
            "e.g. `return 1 if condition else 0`"
        )
    allowed = (-1, 0, 1) if n_classes is None else range(n_classes + 1)
    if isinstance(vote, (str, bytes)) or vote not in allowed:
        expected = ("-1, 0 (abstain) or +1 (or, made or applied with n_classes=K, a class 1..K)"
                    if n_classes is None else f"0 (abstain) or a class 1..{n_classes}")
        raise ValueError(f"LF {name!r} returned {vote!r}{where}; an LF must return {expected}")
    return int(vote)


def labeling_function(f: Callable | None = None, *, name: str | None = None, n_classes: int | None = None):
    """Decorator that turns a function of one record into a :class:`LabelingFunction`.

    Works bare (``@labeling_function``) or with a name (``@labeling_function(name="kw")``); with
    ``n_classes=K`` the LF votes a class 1..K or 0.

    Examples
    --------
    >>> @labeling_function
    ... def lf_short(x):
    ...     return -1 if len(x) < 3 else 0
    >>> lf_short.name, lf_short("ab"), lf_short("abcd")
    ('lf_short', -1, 0)
    """
    if f is None:
        return lambda g: LabelingFunction(g, name=name, n_classes=n_classes)
    return LabelingFunction(f, name=name, n_classes=n_classes)


def apply_lfs(lfs: Sequence[Callable[[Any], int]], data: Iterable[Any], sparse: bool = False,
              n_classes: int | None = None):
    """Run every LF on every record and collect the votes in a label matrix.

    Parameters
    ----------
    lfs : sequence of callables
        Each maps one record to -1, 0 or +1 (plain functions are wrapped); with ``n_classes``, to
        0 or a class 1..K.
    data : iterable of records, or a pandas DataFrame
        A DataFrame is read row by row as named tuples, so an LF can say ``x.age``.
    sparse : bool
        Return a ``scipy.sparse.csr_matrix`` (for large, mostly abstaining L).
    n_classes : int, optional
        K > 2 classes, voted as 1..K (the convention of :class:`ClassConditionalLabelModel`).
        By default, the ``n_classes`` the LFs were made with (all the same), else -1/+1 votes.

    Returns
    -------
    L : ndarray of shape (n, m), int8, or csr_matrix

    Raises
    ------
    TypeError
        If ``lfs`` is a single LF (not in a list) or holds something not callable, ``data`` is a
        Dask DataFrame (use ``dp.scale.apply_lfs``), or an LF returns a bool.
    ValueError
        If there are no LFs, a DataFrame column cannot be an attribute name, an LF returns
        something other than -1, 0, +1 (with ``n_classes``: 0..K), or the LFs were made with
        different ``n_classes``.
    LabelingFunctionError
        A ``RuntimeError``: an LF raised; names the LF and the record (its index label in a
        DataFrame, else its position).

    Examples
    --------
    >>> lfs = [labeling_function(lambda x: 1 if x > 2 else 0, name="big"),
    ...        labeling_function(lambda x: -1 if x < 0 else 0, name="negative")]
    >>> apply_lfs(lfs, [3, -1, 1]).tolist()
    [[1, 0], [0, -1], [0, 0]]
    """
    lfs = prepare_lfs(lfs)
    if _is_dask_collection(data):
        raise TypeError(
            "data is a Dask DataFrame; apply_lfs works in memory. Use dp.scale.apply_lfs(records, lfs), "
            "which labels it partition by partition"
        )
    declared = {lf.name: lf.n_classes for lf in lfs if getattr(lf, "n_classes", None) is not None}
    n_classes = check_n_classes(n_classes, high=127)
    if n_classes is None and declared:
        n_classes = next(iter(declared.values()))
    clash = {name: k for name, k in declared.items() if k != n_classes}
    if clash:
        raise ValueError(f"the LFs vote for different numbers of classes: {clash} against n_classes={n_classes}")
    if isinstance(data, pd.DataFrame):
        check_column_names(data)
        records = data.itertuples(index=False)
        labels = data.index
    else:
        if isinstance(data, (str, bytes)):
            raise TypeError("data must be an iterable of records or a DataFrame, not a single str")
        records = data
        labels = None
    rows, cols, votes = [], [], []
    n = 0
    for i, record in enumerate(records):
        n += 1
        for j, lf in enumerate(lfs):
            label = _plain(labels[i]) if labels is not None else i
            try:
                raw = lf.f(record)
            except Exception as err:
                raise LabelingFunctionError(lf.name, label, err) from err
            vote = check_vote(raw, lf.name, label, n_classes=n_classes)
            if vote:
                rows.append(i)
                cols.append(j)
                votes.append(vote)
    L = sp.csr_matrix((np.array(votes, np.int8), (rows, cols)), shape=(n, len(lfs)), dtype=np.int8)
    return L if sparse else L.toarray()


def prepare_lfs(lfs: Any) -> list:
    """A list of LFs, each wrapped as a :class:`LabelingFunction` unless it already is an LF; a
    clear error for a single LF not in a list, an empty list or something that is not callable."""
    if callable(lfs) or isinstance(lfs, (str, bytes)):
        raise TypeError("lfs must be a list of labeling functions; wrap a single LF in a list: [lf]")
    try:
        lfs = list(lfs)
    except TypeError:
        raise TypeError(f"lfs must be a list of labeling functions; got {type(lfs).__name__}") from None
    if not lfs:
        raise ValueError("at least one labeling function is needed")
    for j, lf in enumerate(lfs):
        if not callable(lf):
            raise TypeError(f"lfs[{j}] is a {type(lf).__name__} ({lf!r}), not a labeling function")
    return [lf if hasattr(lf, "name") and hasattr(lf, "f") else LabelingFunction(lf) for lf in lfs]


def _is_dask_collection(data: Any) -> bool:
    return type(data).__module__.startswith(("dask.", "dask_expr")) or hasattr(data, "__dask_graph__")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def check_column_names(df: pd.DataFrame) -> None:
    """Rows reach per-record LFs as named tuples, which silently rename columns that are not
    identifiers, are keywords (``class``), start with an underscore (``_score``) or repeat:
    ``x.class`` or ``x._score`` would then fail on every row. Refuse them up front."""
    seen: set = set()
    bad = []
    for c in df.columns:
        if not (isinstance(c, str) and c.isidentifier()) or keyword.iskeyword(str(c)) or str(c).startswith("_") or c in seen:
            bad.append(c)
        seen.add(c)
    if bad:
        raise ValueError(
            f"columns {bad} cannot be read by an LF as x.<name>: records reach LFs as named tuples, which rename "
            "columns that are not identifiers, are Python keywords, start with '_' or repeat. "
            "Rename them first, e.g. df.rename(columns={'class': 'label', '_score': 'score'})"
        )


def lf_summary(L: Any, y: Any = None, names: Sequence[str] | None = None, n_classes: int | None = None) -> pd.DataFrame:
    """One row per LF: what it votes, how often, and how it sits among the others.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)
    y : array-like of shape (n,), optional
        True labels (-1/+1; with ``n_classes``, 1..K), e.g. of a small labeled dev set; adds
        accuracy columns.
    names : sequence of m str, optional
        LF names for the index (default ``LF 0``, ``LF 1``, ...).
    n_classes : int, optional
        For K > 2 classes: votes are 0 (abstain) or a class 1..K, as for
        :class:`ClassConditionalLabelModel` with the same ``n_classes``. By default votes are
        -1, 0 or +1.

    Returns
    -------
    pandas.DataFrame
        ``polarity`` (the votes it ever casts), ``coverage`` (fraction of points it votes on),
        ``overlaps`` (fraction where it and at least one other LF vote), ``conflicts``
        (fraction where another LF votes another class); with ``y``: ``correct``,
        ``incorrect`` and ``emp_accuracy`` (correct / votes, NaN for an LF that never votes).

    Examples
    --------
    >>> lf_summary([[1, 1], [1, -1], [0, -1]], y=[1, 1, -1]).round(2)
         polarity  coverage  overlaps  conflicts  correct  incorrect  emp_accuracy
    LF 0      [1]      0.67      0.67       0.33        2          0          1.00
    LF 1  [-1, 1]      1.00      0.67       0.33        2          1          0.67
    """
    if n_classes is None:
        L = check_label_matrix(L, n_classes_hint=True)
        n, m = L.shape
        rows, cols, vals = _triplets(L)
        classes = np.array([-1, 1])
    else:
        from .class_conditional import _to_outcomes  # votes 1..K (or -1/+1), as the model reads them

        check_n_classes(n_classes)
        outcomes, classes = _to_outcomes(L, n_classes)
        n, m = outcomes.shape
        rows, cols = np.nonzero(outcomes)
        vals = classes[outcomes[rows, cols] - 1]
    # votes per row for each class, then: does another LF vote in the row, another class?
    voted = np.searchsorted(classes, vals)  # column of each vote's class
    per_class = np.bincount(rows * classes.size + voted, minlength=n * classes.size).reshape(n, classes.size)
    votes_per_row = per_class.sum(axis=1)
    overlapping = votes_per_row[rows] > 1
    conflicting = votes_per_row[rows] > per_class[rows, voted]
    if isinstance(names, str):
        raise TypeError("names must be a list of m LF names, not a single str")
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
        y = check_binary_labels(y, n=n) if n_classes is None else check_class_labels(y, classes, n=n)
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
