"""Data programming at scale: labeling functions, overlaps and posteriors, one partition at a time.

The label model needs only :class:`~dp_helpers.overlaps.OverlapStats` of ``L``: two m x m integer
matrices that add up over any split of the rows. So a data set too big for one pandas DataFrame is
handled partition by partition with Dask:

1. :func:`apply_lfs` runs the LFs on every partition of a ``dask.dataframe`` and gives
   :class:`LabelBlocks`, one sparse (CSR) block of ``L`` per partition, computed lazily;
2. :func:`overlap_stats` computes the statistics of each block and sums them (a map-reduce), so
   memory stays bounded by a partition, and ``dp.LabelModel().fit(stats)`` never sees ``L``;
3. :func:`predict_proba` applies the fitted model block by block and returns a Dask series of
   ``y_soft = P(y = +1 | votes)``;
4. :func:`soft_label_dataset` streams features and ``y_soft`` to TensorFlow one partition at a
   time, and :func:`train_on_stream` trains the end model from that stream.

LFs come in two kinds: per record (``dp.labeling_function``, as in Snorkel) and vectorized over a
partition's DataFrame (:func:`vectorized_lf`), which is much faster. Dask, pyarrow and TensorFlow
are imported only by the functions that use them.
"""
from __future__ import annotations

import functools
import itertools
import json
import operator
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._validation import check_soft_labels
from .end_model import noise_aware_loss, set_seed
from .labeling import LabelingFunction
from .overlaps import OverlapStats, overlap_stats as _block_overlap_stats

if TYPE_CHECKING:  # imported for type hints only: importing dp_helpers must not need Dask
    import dask.dataframe as dd

__all__ = [
    "VectorizedLF",
    "vectorized_lf",
    "LabelingFunctionError",
    "LabelBlock",
    "LabelBlocks",
    "label_partition",
    "apply_lfs",
    "overlap_stats",
    "predict_proba",
    "write_label_matrix",
    "read_label_matrix",
    "soft_label_dataset",
    "train_on_stream",
    "make_scored_records",
    "write_scored_records",
]

ON_ERROR = ("raise", "skip")
FAILURE_COLUMNS = ["lf", "record", "error"]
# Scores of the synthetic records are stored as int8: round(SCORE_SCALE * value), clipped to +-127.
SCORE_SCALE = 16


# --------------------------------------------------------------------------------------------
# Labeling functions over a whole partition
# --------------------------------------------------------------------------------------------


class VectorizedLF:
    """A named function from a DataFrame (one partition) to one vote per row: +1, -1 or 0.

    Calling it checks the votes, so a mistake fails at the LF that made it, with the record.
    """

    def __init__(self, f: Callable[[pd.DataFrame], Any], name: str | None = None):
        self.f = f
        self.name = name or f.__name__
        functools.update_wrapper(self, f)

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        return self.check(self.f(df), df)

    def check(self, votes: Any, df: pd.DataFrame) -> np.ndarray:
        """Return ``votes`` as int8 of shape ``(len(df),)``, or raise naming this LF."""
        return _check_votes(votes, df.index, self.name)

    def __repr__(self) -> str:
        return f"VectorizedLF({self.name!r})"


def vectorized_lf(f: Callable | None = None, *, name: str | None = None):
    """Decorator that turns a function of a DataFrame into a :class:`VectorizedLF`.

    The function gets a whole partition and returns one vote per row (an array or Series of
    -1, 0, +1 of length ``len(df)``, read in row order), usually a column expression such as
    ``np.where``.
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


class LabelingFunctionError(RuntimeError):
    """An LF raised on a record. ``lf`` is its name, ``record`` the record's index label."""

    def __init__(self, lf: str, record: Any, cause: BaseException):
        self.lf, self.record, self.cause = lf, record, cause
        super().__init__(
            f"LF {lf!r} failed on record {record!r}: {type(cause).__name__}: {cause} "
            "(on_error='skip' makes it abstain there and collects the failures)"
        )

    def __reduce__(self):  # rebuilt from its parts when a worker sends it to the client
        return type(self), (self.lf, self.record, self.cause)


# --------------------------------------------------------------------------------------------
# One partition
# --------------------------------------------------------------------------------------------


@dataclass
class LabelBlock:
    """The rows of ``L`` for one partition of the records.

    Attributes
    ----------
    L : scipy.sparse.csr_matrix of shape (len(index), m), int8
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
    if callable(lfs):
        raise TypeError("lfs must be a list of labeling functions; wrap a single LF in a list: [lf]")
    lfs = list(lfs)
    if not lfs:
        raise ValueError("at least one labeling function is needed")
    for j, lf in enumerate(lfs):
        if not callable(lf):
            raise TypeError(f"lfs[{j}] is a {type(lf).__name__}, not a labeling function")
    lfs = [lf if isinstance(lf, (VectorizedLF, LabelingFunction)) else LabelingFunction(lf) for lf in lfs]
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
    n = len(df)
    columns: list = [np.zeros(0, np.int8)] * len(lfs)  # an empty partition (Dask makes some) gets no calls
    failures: list[tuple] = []
    per_record = [j for j, lf in enumerate(lfs) if not isinstance(lf, VectorizedLF)]
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
            if vote not in (-1, 0, 1):
                raise ValueError(
                    f"LF {name!r} returned {vote!r} for record {_label(df.index[i])!r}; "
                    "an LF must return -1, 0 (abstain) or +1"
                )
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


# --------------------------------------------------------------------------------------------
# All partitions, with Dask
# --------------------------------------------------------------------------------------------


class LabelBlocks:
    """The label matrix ``L`` of a partitioned data set: one lazy :class:`LabelBlock` per partition.

    Nothing is computed until asked. :func:`overlap_stats` and :func:`predict_proba` compute each
    block where its partition is and keep only small results, so ``L`` is never in one place.
    Each of them computes the blocks again; :meth:`persist` keeps them in (cluster) memory instead.

    Attributes
    ----------
    parts : list of dask.delayed.Delayed
        Each computes to a :class:`LabelBlock`.
    lf_names : list of str
    divisions : tuple
        The records' divisions (index boundaries of the partitions), or Nones if unknown.
    """

    def __init__(self, parts: list, lf_names: Sequence[str], divisions: tuple | None = None):
        self.parts = list(parts)
        self.lf_names = list(lf_names)
        self.divisions = tuple(divisions) if divisions is not None else (None,) * (len(self.parts) + 1)

    @property
    def npartitions(self) -> int:
        return len(self.parts)

    @property
    def m(self) -> int:
        return len(self.lf_names)

    def __repr__(self) -> str:
        return f"LabelBlocks(npartitions={self.npartitions}, lfs={self.lf_names})"

    def persist(self, **compute_kwargs) -> "LabelBlocks":
        """Compute every block once and keep it (on the workers, with a distributed client)."""
        import dask

        return LabelBlocks(dask.persist(*self.parts, **compute_kwargs), self.lf_names, self.divisions)

    def compute(self, *, progress: bool = False, **compute_kwargs) -> LabelBlock:
        """All blocks stacked into one :class:`LabelBlock`: for data that fits in memory (and tests)."""
        blocks = _compute(*self.parts, progress=progress, **compute_kwargs)
        return LabelBlock(
            sp.vstack([b.L for b in blocks], format="csr", dtype=np.int8),
            blocks[0].index.append([b.index for b in blocks[1:]]),
            _concat_failures([b.failures for b in blocks]),
        )

    def failures(self, *, progress: bool = False, **compute_kwargs) -> pd.DataFrame:
        """The LF failures of every block (``on_error="skip"``), without gathering ``L``."""
        import dask

        found = [dask.delayed(operator.attrgetter("failures"), pure=True)(part) for part in self.parts]
        return _concat_failures(_compute(*found, progress=progress, **compute_kwargs))


def _concat_failures(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    found = [f for f in frames if len(f)]
    return pd.concat(found, ignore_index=True) if found else frames[0]


def apply_lfs(records: "dd.DataFrame", lfs: Sequence[Callable], on_error: str = "raise") -> LabelBlocks:
    """Plan the application of the LFs to every partition of a Dask DataFrame (lazily).

    Parameters
    ----------
    records : dask.dataframe.DataFrame
        The data; its index labels name the records in error messages.
    lfs : sequence of callables
        Per-record and/or vectorized LFs, as for :func:`label_partition`. On a distributed
        cluster they are pickled and sent to the workers.
    on_error : {"raise", "skip"}
        See :func:`label_partition`.

    Returns
    -------
    LabelBlocks
        One block of ``L`` per partition; nothing runs until the blocks are used.

    Raises
    ------
    TypeError
        If ``records`` is not a Dask DataFrame, or ``lfs`` is not a list of callables.
    ValueError
        If ``on_error`` is unknown, ``lfs`` is empty or two LFs share a name. Errors of the LFs
        themselves surface when the blocks are computed.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"x": [3, -1, 1, 4]})
    >>> big = vectorized_lf(lambda df: np.where(df["x"] > 2, 1, 0), name="big")
    >>> blocks = apply_lfs(dd.from_pandas(df, npartitions=2), [big])
    >>> blocks.npartitions, blocks.compute(scheduler="synchronous").L.toarray().ravel().tolist()
    (2, [1, 0, 0, 1])
    """
    import dask
    import dask.dataframe as dd

    if not isinstance(records, dd.DataFrame):
        raise TypeError(
            f"records must be a dask.dataframe.DataFrame; got {type(records).__name__} "
            "(for a pandas DataFrame use dd.from_pandas(df, npartitions=...), or label_partition(df, lfs))"
        )
    lfs = _prepare_lfs(lfs, on_error)
    label = dask.delayed(label_partition, pure=True)
    parts = [label(part, lfs, on_error) for part in records.to_delayed()]
    return LabelBlocks(parts, [lf.name for lf in lfs], records.divisions)


def _check_blocks(blocks: Any) -> LabelBlocks:
    if not isinstance(blocks, LabelBlocks):
        raise TypeError(f"expected LabelBlocks (from scale.apply_lfs or scale.read_label_matrix); got {type(blocks).__name__}")
    return blocks


def overlap_stats(blocks: LabelBlocks, *, progress: bool = False, **compute_kwargs) -> OverlapStats:
    """The overlap statistics of ``L`` as a map-reduce over its blocks.

    Map: ``dp.overlap_stats`` of each block (``L_k^T L_k`` and ``|L_k|^T |L_k|``, m x m);
    reduce: their sum, ``OverlapStats.__add__``, in a tree. Only m x m matrices travel, so
    memory stays bounded by a partition. The sums are exact integers: the result is identical,
    entry for entry, to ``dp.overlap_stats`` of the whole ``L``, however the rows are split.

    Parameters
    ----------
    blocks : LabelBlocks
    progress : bool
        Print a progress bar to stdout while computing.
    **compute_kwargs
        Passed to ``dask.compute``, e.g. ``scheduler="synchronous"``.

    Returns
    -------
    OverlapStats
        Ready for ``dp.LabelModel(...).fit(stats)``.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"x": [3, -1, 1, 4]})
    >>> lfs = [vectorized_lf(lambda df: np.sign(df["x"]), name="sign"),
    ...        vectorized_lf(lambda df: np.where(df["x"] > 2, 1, 0), name="big")]
    >>> stats = overlap_stats(apply_lfs(dd.from_pandas(df, npartitions=2), lfs), scheduler="synchronous")
    >>> stats.signed.tolist(), stats.counts.tolist(), stats.n
    ([[4, 2], [2, 2]], [[4, 2], [2, 2]], 4)
    """
    import dask

    blocks = _check_blocks(blocks)
    stats = dask.delayed(_stats_of_block, pure=True)
    partial = [stats(part) for part in blocks.parts]
    while len(partial) > 1:  # a tree of fan-in 8: no single task receives every partition's result
        partial = [dask.delayed(_sum, pure=True)(partial[k : k + 8]) for k in range(0, len(partial), 8)]
    (total,) = _compute(partial[0], progress=progress, **compute_kwargs)
    return total


def _stats_of_block(block: LabelBlock) -> OverlapStats:
    if block.L.shape[0] == 0:
        m = block.L.shape[1]
        return OverlapStats(np.zeros((m, m), np.int64), np.zeros((m, m), np.int64), 0)
    return _block_overlap_stats(block.L)


def _sum(items: list):
    return functools.reduce(operator.add, items)


def predict_proba(blocks: LabelBlocks, model: Any) -> "dd.Series":
    """``y_soft = P(y = +1 | votes)`` for every record, block by block, as a Dask series.

    Parameters
    ----------
    blocks : LabelBlocks
    model : dp.LabelModel
        Fitted, with as many LFs as ``blocks``.

    Returns
    -------
    dask.dataframe.Series
        Named ``y_soft``, float64, indexed like the records and with their divisions, so it can
        be assigned to them: ``records.assign(y_soft=...)``. Lazy: nothing is computed yet.

    Examples
    --------
    >>> import dask.dataframe as dd, dp_helpers as dp
    >>> data = dp.make_synthetic(n=2000, m=5, random_state=0)
    >>> df = pd.DataFrame(data.L, columns=[f"v{j}" for j in range(5)])
    >>> lfs = [vectorized_lf(lambda d, j=j: d[f"v{j}"], name=f"copy_{j}") for j in range(5)]
    >>> blocks = apply_lfs(dd.from_pandas(df, npartitions=4), lfs)
    >>> model = dp.LabelModel(method="closed_form").fit(overlap_stats(blocks, scheduler="synchronous"))
    >>> y_soft = predict_proba(blocks, model).compute(scheduler="synchronous")
    >>> bool(np.allclose(y_soft.to_numpy(), model.predict_proba(data.L)))
    True
    """
    import dask
    import dask.dataframe as dd

    blocks = _check_blocks(blocks)
    if not hasattr(model, "accuracies_"):
        raise RuntimeError("the label model is not fitted yet; fit it first, e.g. dp.LabelModel().fit(scale.overlap_stats(blocks))")
    if model.n_lfs_ != blocks.m:
        raise ValueError(f"the model was fit with {model.n_lfs_} LFs but the blocks have {blocks.m}")
    posterior = dask.delayed(_posterior_of_block, pure=True)
    parts = [posterior(part, model.accuracies_, model.class_prior) for part in blocks.parts]
    return dd.from_delayed(parts, meta=pd.Series(dtype=np.float64, name="y_soft"), divisions=blocks.divisions)


def _posterior_of_block(block: LabelBlock, accuracies: np.ndarray, class_prior: float) -> pd.Series:
    from .label_model import posterior

    values = posterior(block.L, accuracies, class_prior) if block.L.shape[0] else np.zeros(0)
    return pd.Series(values, index=block.index, name="y_soft")


def _compute(*objects, progress: bool = False, **compute_kwargs) -> tuple:
    """``dask.compute``, with an optional text progress bar on stdout (never stderr)."""
    import dask

    if not progress:
        return dask.compute(*objects, **compute_kwargs)
    client = _default_client() if "scheduler" not in compute_kwargs else None
    if client is not None:
        from distributed import progress as distributed_progress

        futures = client.compute(list(objects))
        distributed_progress(futures, notebook=False)
        print(file=sys.stdout, flush=True)
        return tuple(client.gather(futures))
    from dask.diagnostics import ProgressBar

    with ProgressBar(out=sys.stdout):
        return dask.compute(*objects, **compute_kwargs)


def _default_client():
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# L on disk: Parquet, one file per block
# --------------------------------------------------------------------------------------------

_META = "_label_matrix.json"


def write_label_matrix(blocks: LabelBlocks, path: str | Path, *, progress: bool = False, **compute_kwargs) -> pd.DataFrame:
    """Compute every block once and store it as Parquet; return the LF failures.

    Each block becomes ``part.NNNNN.parquet`` with one row per record: its index label
    (``record``) and two list columns, the LFs that voted (``lf``, int16) and their votes
    (``vote``, int8). A list column is stored as offsets and values, which is CSR itself, so
    reading it back costs no conversion, and abstentions take no space at all.

    Parameters
    ----------
    blocks : LabelBlocks
    path : str or Path
        A directory (created); every worker must be able to write to it.
    progress : bool
        Print a progress bar to stdout.

    Returns
    -------
    pandas.DataFrame
        The failures (``on_error="skip"``), collected in the same pass.
    """
    import dask

    blocks = _check_blocks(blocks)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    divisions = [_label(d) for d in blocks.divisions]
    known = all(isinstance(d, (int, float, str)) for d in divisions)
    (path / _META).write_text(json.dumps({"lf_names": blocks.lf_names, "divisions": divisions if known else None}))
    write = dask.delayed(_write_block, pure=True)
    tasks = [write(part, str(path / f"part.{k:05d}.parquet")) for k, part in enumerate(blocks.parts)]
    return _concat_failures(_compute(*tasks, progress=progress, **compute_kwargs))


def _write_block(block: LabelBlock, filename: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    L = block.L
    offsets = pa.array(L.indptr.astype(np.int32))
    table = pa.table(
        {
            "record": pa.array(np.asarray(block.index)),
            "lf": pa.ListArray.from_arrays(offsets, pa.array(L.indices.astype(np.int16))),
            "vote": pa.ListArray.from_arrays(offsets, pa.array(L.data.astype(np.int8))),
        }
    )
    metadata = {"index_name": json.dumps(block.index.name)}
    pq.write_table(table.replace_schema_metadata(metadata), filename, compression="zstd")
    return block.failures


def read_label_matrix(path: str | Path) -> LabelBlocks:
    """Read ``L`` stored by :func:`write_label_matrix`: one lazy block per file.

    Examples
    --------
    >>> import tempfile, dask.dataframe as dd
    >>> df = pd.DataFrame({"x": [3, -1, 1, 4]})
    >>> blocks = apply_lfs(dd.from_pandas(df, npartitions=2), [vectorized_lf(lambda d: np.sign(d["x"]), name="s")])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     failures = write_label_matrix(blocks, folder, scheduler="synchronous")
    ...     read_label_matrix(folder).compute(scheduler="synchronous").L.toarray().ravel().tolist()
    [1, -1, 1, 1]
    """
    import dask

    path = Path(path)
    if not (path / _META).exists():
        raise FileNotFoundError(f"{path} holds no label matrix (no {_META}); write one with scale.write_label_matrix")
    meta = json.loads((path / _META).read_text())
    files = sorted(path.glob("part.*.parquet"))
    read = dask.delayed(_read_block, pure=True)
    parts = [read(str(f), len(meta["lf_names"])) for f in files]
    return LabelBlocks(parts, meta["lf_names"], meta["divisions"])


def _read_block(filename: str, m: int) -> LabelBlock:
    import pyarrow.parquet as pq

    table = pq.read_table(filename)
    lf = table.column("lf").combine_chunks()
    vote = table.column("vote").combine_chunks()
    indptr = lf.offsets.to_numpy()
    indptr = indptr - indptr[0]
    L = sp.csr_matrix(
        (vote.flatten().to_numpy().astype(np.int8), lf.flatten().to_numpy().astype(np.int32), indptr),
        shape=(table.num_rows, m),
    )
    name = json.loads((table.schema.metadata or {}).get(b"index_name", b"null"))
    index = pd.Index(table.column("record").to_numpy(), name=name)
    return LabelBlock(L, index, _failure_frame([], index))


# --------------------------------------------------------------------------------------------
# The end model, from a stream
# --------------------------------------------------------------------------------------------


def soft_label_dataset(
    frame: "dd.DataFrame",
    features: Sequence[str],
    target: str = "y_soft",
    *,
    batch_size: int = 1024,
    shuffle: bool = True,
    seed: int = 0,
):
    """A ``tf.data.Dataset`` of ``(X, y_soft)`` batches that computes one partition at a time.

    Every pass (epoch) visits the partitions in a seeded random order and shuffles the rows of
    each, so only one partition (plus TensorFlow's prefetch) is ever in memory, and two runs
    with the same seed see the same batches. Batches run across partition boundaries, so all
    but the last have ``batch_size`` rows, and the dataset knows its length (``len(frame)``,
    which Dask reads from Parquet metadata where it can).

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        Holds the feature columns and the soft labels, e.g. ``records.assign(y_soft=...)``.
    features : sequence of str
        Columns fed to the model, as float32.
    target : str
        Column of soft labels ``P(y = +1)`` in [0, 1].
    batch_size : int
    shuffle : bool
        Shuffle partitions and rows (seeded) on every pass.
    seed : int

    Returns
    -------
    tf.data.Dataset
        Elements ``(X, y)`` of shapes ``(batch, len(features))`` and ``(batch,)``.

    Raises
    ------
    ValueError
        If a column is missing, or (while streaming) a soft label is outside [0, 1].
    """
    import tensorflow as tf

    features = list(features)
    missing = [c for c in features + [target] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame has no columns {missing}; it has {list(frame.columns)}")
    parts = frame[features + [target]].to_delayed()
    n = len(frame)
    passes = itertools.count()

    def batches():
        rng = np.random.default_rng([seed, next(passes)])
        order = rng.permutation(len(parts)) if shuffle else range(len(parts))
        X_left, y_left = np.zeros((0, len(features)), np.float32), np.zeros(0, np.float32)
        for k in order:
            part = parts[k].compute()  # one partition in memory
            X = part[features].to_numpy(dtype=np.float32)
            y = check_soft_labels(part[target].to_numpy(), name=f"{target} (partition {k})") if len(part) else y_left[:0]
            if shuffle:
                rows = rng.permutation(len(part))
                X, y = X[rows], y[rows]
            X, y = np.concatenate([X_left, X]), np.concatenate([y_left, y])
            full = len(y) - len(y) % batch_size
            for start in range(0, full, batch_size):
                yield X[start : start + batch_size], y[start : start + batch_size]
            X_left, y_left = X[full:], y[full:]
        if len(y_left):
            yield X_left, y_left

    signature = (tf.TensorSpec((None, len(features)), tf.float32), tf.TensorSpec((None,), tf.float32))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size))).prefetch(2)


def train_on_stream(model, dataset, epochs: int = 1, learning_rate: float = 1e-3, seed: int = 0):
    """Fit ``model`` to a stream of ``(X, y_soft)`` batches with the noise-aware loss; seeded.

    The streaming twin of :func:`dp_helpers.train`: same loss (cross-entropy against soft
    labels, from logits), same optimizer (Adam), ``verbose=0``, TensorFlow seeded and
    deterministic.

    Parameters
    ----------
    model : keras.Model
        Outputs one logit per point, e.g. ``dp.build_logistic_regression(d)``.
    dataset : tf.data.Dataset
        Yields ``(X, y_soft)`` batches, e.g. from :func:`soft_label_dataset`.
    epochs, learning_rate, seed : int, float, int

    Returns
    -------
    keras.callbacks.History
    """
    import tensorflow as tf

    set_seed(seed)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=noise_aware_loss())
    return model.fit(dataset, epochs=epochs, shuffle=False, verbose=0)  # the stream shuffles itself


# --------------------------------------------------------------------------------------------
# Synthetic records, big enough to need partitions
# --------------------------------------------------------------------------------------------


def _score_signal(m: int, seed: int) -> np.ndarray:
    """How strongly each score leans towards the label: ``mu_j`` in [-0.05, 0.45]."""
    return np.random.default_rng([seed, 2**31]).uniform(-0.05, 0.45, size=m)


def make_scored_records(n: int, m: int, *, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """Records with a hidden label and ``m`` one-byte scores, each a weak hint of the label.

    Record ``i`` has ``y_i = +-1`` (a fair coin) and scores ``s_ij = round(16 (mu_j y_i + e_ij))``
    clipped to +-127 and stored as int8, with ``e_ij ~ Normal(0, 1)`` independent, so that the
    scores are conditionally independent given ``y``. Think of them as the outputs of ``m`` old
    models; an LF that votes where ``|s_j|`` is large is a thresholded weak classifier. The
    signals ``mu_j`` depend only on ``seed`` and ``m``; the rows depend on ``seed`` and ``start``,
    so partitions made separately are independent and reproducible.

    Parameters
    ----------
    n, m : int
        Records and scores.
    seed : int
    start : int
        ``id`` of the first record; records are numbered ``start, ..., start + n - 1``.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (int64), ``y`` (int8, the truth: for grading only, never for LFs),
        ``s0 ... s{m-1}`` (int8).

    Examples
    --------
    >>> make_scored_records(3, 2, seed=1).dtypes.astype(str).tolist()
    ['int64', 'int8', 'int8', 'int8']
    """
    mu = _score_signal(m, seed)
    rng = np.random.default_rng([seed, start])
    y = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    columns = {"id": np.arange(start, start + n, dtype=np.int64), "y": y}
    for j in range(m):  # column by column keeps the float temporaries at n values
        score = SCORE_SCALE * (np.float32(mu[j]) * y + rng.standard_normal(n, dtype=np.float32))
        columns[f"s{j}"] = np.clip(np.rint(score), -127, 127).astype(np.int8)
    return pd.DataFrame(columns)


def write_scored_records(
    path: str | Path, n: int, m: int, *, partition_size: int = 100_000, seed: int = 0, **compute_kwargs
) -> list[Path]:
    """Write :func:`make_scored_records` to Parquet, one file per partition, generated in parallel.

    Read them back with ``dd.read_parquet(path, index="id", calculate_divisions=True)``: one
    partition per file, indexed by ``id``, with known divisions.

    Parameters
    ----------
    path : str or Path
        A directory (created).
    n, m : int
        Records and scores.
    partition_size : int
        Records per file.
    seed : int
    **compute_kwargs
        Passed to ``dask.compute``.

    Returns
    -------
    list of Path
        The files written.
    """
    import dask

    if n < 1 or m < 1 or partition_size < 1:
        raise ValueError(f"n, m and partition_size must be positive; got {n}, {m}, {partition_size}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    files = [path / f"part.{k:05d}.parquet" for k in range(-(-n // partition_size))]
    write = dask.delayed(_write_records_part, pure=True)
    tasks = [
        write(str(f), min(partition_size, n - k * partition_size), m, seed, k * partition_size)
        for k, f in enumerate(files)
    ]
    dask.compute(*tasks, **compute_kwargs)
    return files


def _write_records_part(filename: str, n: int, m: int, seed: int, start: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(make_scored_records(n, m, seed=seed, start=start), preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), filename, compression="zstd")
