"""Labeling functions over a partition's DataFrame, and one partition's block of L."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..labeling import LabelingFunction, LabelingFunctionError, callable_name, check_column_names, check_vote, prepare_lfs

ON_ERROR = ("raise", "skip")
FAILURE_COLUMNS = ["lf", "record", "error"]

# --------------------------------------------------------------------------------------------
# Labeling functions over a whole partition
# --------------------------------------------------------------------------------------------


class VectorizedLF:
    """A named function from a DataFrame (one partition) to one vote per row: +1, -1 or 0.

    Calling it checks the votes, so a mistake fails at the LF that made it, with the record.
    """

    def __init__(self, f: Callable[[pd.DataFrame], Any], name: str | None = None):
        if not callable(f):
            raise TypeError(f"a vectorized LF must be callable; got {type(f).__name__}")
        name = callable_name(f, name, kind="vectorized LF")
        if isinstance(f, VectorizedLF):  # re-wrapping (e.g. to rename): wrap the function itself
            f = f.f
        self.f = f
        try:
            functools.update_wrapper(self, f)
        except AttributeError:
            pass
        self.name = name  # after update_wrapper, which copies the wrapped function's attributes

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        return self.check(self.f(df), df)

    def check(self, votes: Any, df: pd.DataFrame) -> np.ndarray:
        """Return ``votes`` as int8 of shape ``(len(df),)``, or raise naming this LF."""
        return _check_votes(votes, df.index, self.name)

    def __repr__(self) -> str:
        return f"VectorizedLF({self.name!r})"


def vectorized_lf(f: Callable | None = None, *, name: str | None = None):
    """Decorator that turns a function of a DataFrame into a :class:`VectorizedLF`.

    The function gets a whole partition and returns one vote per row: an array of -1, 0, +1 of
    length ``len(df)``, read in row order, or a Series, read by index label (so a Series in
    another order still votes on its own records; one with other labels is an error), usually a
    column expression such as ``np.where``. Booleans are an error, not +1/abstain.
    Works bare (``@vectorized_lf``) or with a name (``@vectorized_lf(name="long_text")``).

    Raises
    ------
    ValueError, TypeError
        When called, if the votes have the wrong length, type or values; the message names the
        LF and, for a bad value, the record (index label) it was returned for.

    Examples
    --------
    >>> @vectorized_lf
    ... def lf_big(df):
    ...     return np.where(df["x"] > 2, 1, 0)
    >>> lf_big.name, lf_big(pd.DataFrame({"x": [1, 3, 5]})).tolist()
    ('lf_big', [0, 1, 1])
    """
    if f is None:
        return lambda g: VectorizedLF(g, name=name)
    return VectorizedLF(f, name=name)


def _check_votes(votes: Any, index: pd.Index, name: str) -> np.ndarray:
    n = len(index)
    if isinstance(votes, pd.DataFrame):
        raise TypeError(f"LF {name!r} returned a DataFrame; a vectorized LF returns one vote per row (a Series or 1-D array)")
    if isinstance(votes, pd.Series) and not votes.index.equals(index):
        # read by label, never by position: a Series in another order still means its own rows
        if votes.index.has_duplicates or len(votes) != n or not votes.index.isin(index).all():
            raise ValueError(
                f"LF {name!r} returned a Series whose index is not the partition's: votes are matched to records "
                "by index label; return one vote per row of df, indexed like df (or a NumPy array, in row order)"
            )
        votes = votes.reindex(index)
    if isinstance(votes, (pd.Series, pd.Index)):
        if pd.api.types.is_bool_dtype(votes.dtype):
            votes = np.asarray(votes, dtype=bool)
        elif pd.api.types.is_numeric_dtype(votes.dtype):
            votes = votes.to_numpy(dtype=np.float64, na_value=np.nan) if votes.hasnans else votes.to_numpy()
    votes = np.asarray(votes)
    if votes.ndim != 1:
        what = f"a single value ({votes.item()!r})" if votes.ndim == 0 else f"an array of shape {votes.shape}"
        raise ValueError(f"LF {name!r} returned {what}; a vectorized LF returns one vote per row, shape ({n},)")
    if votes.shape[0] != n:
        raise ValueError(f"LF {name!r} returned {votes.shape[0]} votes for a partition of {n} records; it must return one per row")
    if votes.dtype == bool:
        raise TypeError(f"LF {name!r} returned booleans; turn the condition into votes, e.g. np.where(mask, 1, 0)")
    if not np.issubdtype(votes.dtype, np.number):
        raise TypeError(f"LF {name!r} returned dtype {votes.dtype}; votes must be the numbers -1, 0 (abstain) or +1")
    if n and (votes.min() < -1 or votes.max() > 1 or not np.issubdtype(votes.dtype, np.integer)):
        bad = np.flatnonzero(~np.isin(votes, (-1, 0, 1)))
        if bad.size:
            value = votes[bad[0]]
            shown = int(value) if np.isfinite(value) and float(value).is_integer() else value
            raise ValueError(
                f"LF {name!r} returned {shown} for record {_label(index[bad[0]])!r}; "
                "votes must be -1, 0 (abstain) or +1" + (" (abstain with 0, not NaN)" if np.isnan(value) else "")
            )
    return votes.astype(np.int8, copy=False)


def _label(value: Any) -> Any:
    """An index label as a plain Python value, so messages say 17 rather than np.int64(17)."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------------
# One partition
# --------------------------------------------------------------------------------------------


@dataclass
class LabelBlock:
    """The rows of ``L`` for one partition of the records.

    Attributes
    ----------
    L : scipy.sparse.csr_matrix or ndarray of shape (len(index), m), int8
        CSR from the LFs (:func:`label_partition`); a block read back from the wide Parquet
        layout (many votes per record, see :func:`write_label_matrix`) is a dense int8 array.
        ``dp.overlap_stats`` and ``dp.posterior`` take either.
    index : pandas.Index
        The records' index labels, one per row of ``L``.
    failures : pandas.DataFrame
        Columns ``lf``, ``record``, ``error``: one row per (LF, record) where the LF raised and
        abstained instead (``on_error="skip"``); empty otherwise.
    """

    L: sp.csr_matrix
    index: pd.Index
    failures: pd.DataFrame


def _prepare_lfs(lfs: Sequence[Callable], on_error: str) -> list:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}; got {on_error!r}")
    lfs = prepare_lfs(lfs)
    names = [lf.name for lf in lfs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"LF names must be unique, but {twice} appear more than once; pass name=... to the decorator")
    return lfs


def label_partition(df: pd.DataFrame, lfs: Sequence[Callable], on_error: str = "raise") -> LabelBlock:
    """Apply every LF to one pandas DataFrame and return its block of ``L``.

    Vectorized LFs (:func:`vectorized_lf`) get the whole DataFrame; the others get one record at a
    time as a named tuple, exactly as in :func:`dp_helpers.apply_lfs`, so the same LF works in both.

    Parameters
    ----------
    df : pandas.DataFrame
        One partition; its index labels name the records in error messages.
    lfs : sequence of callables
        Per-record LFs (``dp.labeling_function`` or plain functions) and/or vectorized LFs.
    on_error : {"raise", "skip"}
        What to do when an LF raises on a record: raise :class:`LabelingFunctionError`, or let
        the LF abstain there and record the failure in ``LabelBlock.failures``. For a vectorized
        LF the failing records are found by halving the partition, about ``log2(len(df))`` extra
        calls per failing record. An LF that returns an invalid vote always raises: that is a bug
        in the LF, not in the record.

    Returns
    -------
    LabelBlock

    Raises
    ------
    LabelingFunctionError
        If an LF raises and ``on_error="raise"``; names the LF and the record's index label.
    ValueError, TypeError
        If an LF returns something other than -1, 0, +1 (one per row for a vectorized LF).

    Examples
    --------
    >>> import dp_helpers as dp
    >>> df = pd.DataFrame({"x": [3, -1, 1]}, index=["a", "b", "c"])
    >>> big = vectorized_lf(lambda df: np.where(df["x"] > 2, 1, 0), name="big")
    >>> negative = dp.labeling_function(lambda r: -1 if r.x < 0 else 0, name="negative")
    >>> label_partition(df, [big, negative]).L.toarray().tolist()
    [[1, 0], [0, -1], [0, 0]]
    """
    lfs = _prepare_lfs(lfs, on_error)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame (one partition); got {type(df).__name__}")
    n = len(df)
    columns: list = [np.zeros(0, np.int8)] * len(lfs)  # an empty partition (Dask makes some) gets no calls
    failures: list[tuple] = []
    per_record = [j for j, lf in enumerate(lfs) if not isinstance(lf, VectorizedLF)]
    if per_record:
        check_column_names(df)  # else x.<name> fails on every row, silently under on_error="skip"
    if n:
        for j, lf in enumerate(lfs):
            if isinstance(lf, VectorizedLF):
                columns[j] = _apply_vectorized(lf, df, on_error, failures)
        if per_record:
            for j, votes in zip(per_record, _apply_per_record([lfs[j] for j in per_record], df, on_error, failures)):
                columns[j] = votes
    return LabelBlock(_csr_from_columns(columns, n), df.index, _failure_frame(failures, df.index))


def _apply_vectorized(lf: VectorizedLF, df: pd.DataFrame, on_error: str, failures: list) -> np.ndarray:
    try:
        raw = lf.f(df)
    except Exception as err:
        if on_error == "raise":
            raise _first_failure(lf, df, err) from err
        return _isolate_failures(lf, df, failures)
    return lf.check(raw, df)


def _first_failure(lf: VectorizedLF, df: pd.DataFrame, err: Exception) -> LabelingFunctionError:
    """Find the first failing record by halving: the shortest prefix of rows on which ``lf`` raises."""
    ok, fails = 0, len(df)  # lf ran on df.iloc[:ok] (trivially for 0 rows) and raised on df.iloc[:fails]
    while fails - ok > 1:
        mid = (ok + fails) // 2
        try:
            lf.f(df.iloc[:mid])
            ok = mid
        except Exception as prefix_err:
            fails, err = mid, prefix_err
    return LabelingFunctionError(lf.name, _label(df.index[fails - 1]), err)


def _isolate_failures(lf: VectorizedLF, df: pd.DataFrame, failures: list) -> np.ndarray:
    """Votes of ``lf`` on ``df``, abstaining on the records it raises on (found by halving)."""
    try:
        raw = lf.f(df)
    except Exception as err:
        if len(df) == 1:
            failures.append((lf.name, _label(df.index[0]), f"{type(err).__name__}: {err}"))
            return np.zeros(1, np.int8)
        half = len(df) // 2
        return np.concatenate([_isolate_failures(lf, df.iloc[:half], failures), _isolate_failures(lf, df.iloc[half:], failures)])
    return lf.check(raw, df)


def _apply_per_record(lfs: list, df: pd.DataFrame, on_error: str, failures: list) -> list[np.ndarray]:
    votes = [[0] * len(df) for _ in lfs]  # Python lists: item assignment is several times faster than NumPy's
    functions = [(lf.name, lf.f, out) for lf, out in zip(lfs, votes)]
    for i, record in enumerate(df.itertuples(index=False)):
        for name, f, out in functions:
            try:
                vote = f(record)
            except Exception as err:
                if on_error == "raise":
                    raise LabelingFunctionError(name, _label(df.index[i]), err) from err
                failures.append((name, _label(df.index[i]), f"{type(err).__name__}: {err}"))
                continue
            if vote not in (-1, 0, 1) or isinstance(vote, (bool, np.bool_)):
                check_vote(vote, name, _label(df.index[i]))
            out[i] = vote
    return [np.array(out, dtype=np.int8) for out in votes]


def _csr_from_columns(columns: list[np.ndarray], n: int) -> sp.csr_matrix:
    """CSR from one vote vector per LF: build it column by column (CSC), then convert."""
    rows = [np.flatnonzero(v != 0) for v in columns]
    indptr = np.zeros(len(columns) + 1, dtype=np.int64)
    np.cumsum([r.size for r in rows], out=indptr[1:])
    data = np.concatenate([v[r] for v, r in zip(columns, rows)])
    indices = np.concatenate(rows).astype(np.int32)
    return sp.csc_matrix((data, indices, indptr), shape=(n, len(columns))).tocsr()


def _failure_frame(failures: list[tuple], index: pd.Index) -> pd.DataFrame:
    if failures:
        return pd.DataFrame(failures, columns=FAILURE_COLUMNS)
    return pd.DataFrame({"lf": pd.Series(dtype=str), "record": pd.Series(dtype=index.dtype), "error": pd.Series(dtype=str)})
