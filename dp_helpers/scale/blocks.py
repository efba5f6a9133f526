"""All partitions, with Dask: LFs applied block by block, overlaps as a map-reduce, the posterior."""
from __future__ import annotations

import operator
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..overlaps import _CHUNK, OverlapStats, overlap_stats as _block_overlap_stats, single_blas_thread
from .lfs import LabelBlock, _prepare_lfs, label_partition

if TYPE_CHECKING:  # for type hints only: importing dp_helpers must not need Dask
    import dask.dataframe as dd


# --------------------------------------------------------------------------------------------
# All partitions, with Dask
# --------------------------------------------------------------------------------------------


class LabelBlocks:
    """The label matrix ``L`` of a partitioned data set: one lazy :class:`LabelBlock` per partition.

    Nothing is computed until asked. :func:`overlap_stats` and :func:`soft_labels` compute each
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
        """All blocks stacked into one :class:`LabelBlock` with a CSR ``L``: for data that fits in memory (and tests)."""
        blocks = _compute(*self.parts, progress=progress, **compute_kwargs)
        return LabelBlock(
            sp.vstack([sp.csr_matrix(b.L) for b in blocks], format="csr", dtype=np.int8),
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
    >>> from dp_helpers.scale import apply_lfs, overlap_stats, soft_labels, vectorized_lf
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
    reduce: their sum, by Dask's own tree reduction (``dask.array``'s ``sum`` with
    ``split_every=8``: no task receives more than eight partial sums). Only m x m matrices
    travel, so memory stays bounded by a partition. The sums are exact integers: the result is
    identical, entry for entry, to ``dp.overlap_stats`` of the whole ``L``, however the rows are split.

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
    >>> from dp_helpers.scale import apply_lfs, overlap_stats, soft_labels, vectorized_lf
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"x": [3, -1, 1, 4]})
    >>> lfs = [vectorized_lf(lambda df: np.sign(df["x"]), name="sign"),
    ...        vectorized_lf(lambda df: np.where(df["x"] > 2, 1, 0), name="big")]
    >>> stats = overlap_stats(apply_lfs(dd.from_pandas(df, npartitions=2), lfs), scheduler="synchronous")
    >>> stats.signed.tolist(), stats.counts.tolist(), stats.n
    ([[4, 2], [2, 2]], [[4, 2], [2, 2]], 4)
    """
    import dask
    import dask.array as da

    blocks = _check_blocks(blocks)
    m = blocks.m
    stats = dask.delayed(_stats_of_block, pure=True)
    per_block = [stats(part) for part in blocks.parts]
    # Each block's statistics as one int64 row: signed and counts flattened, then n.
    rows = [da.from_delayed(dask.delayed(_stats_row, pure=True)(s), shape=(2 * m * m + 1,), dtype=np.int64) for s in per_block]
    (total,) = _compute(da.stack(rows).sum(axis=0, split_every=8), progress=progress, **compute_kwargs)
    signed, counts = total[: m * m].reshape(m, m), total[m * m : 2 * m * m].reshape(m, m)
    return OverlapStats(signed, counts, int(total[-1]))


def _stats_row(stats: OverlapStats) -> np.ndarray:
    return np.concatenate([stats.signed.ravel(), stats.counts.ravel(), [stats.n]]).astype(np.int64)


def _stats_of_block(block: LabelBlock) -> OverlapStats:
    if block.L.shape[0] == 0:
        m = block.L.shape[1]
        return OverlapStats(np.zeros((m, m), np.int64), np.zeros((m, m), np.int64), 0)
    return _block_overlap_stats(block.L)


def soft_labels(blocks: LabelBlocks, model: Any) -> "dd.Series":
    """``y_soft = P(y = +1 | votes)`` for every record, block by block, as a Dask series.

    The column for class +1 of ``model.predict_proba`` (whose columns are classes ``[-1, +1]``),
    as one series: the soft labels the end model trains on.

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
    >>> from dp_helpers.scale import apply_lfs, overlap_stats, soft_labels, vectorized_lf
    >>> import dask.dataframe as dd, dp_helpers as dp
    >>> data = dp.make_synthetic(n=2000, m=5, random_state=0)
    >>> df = pd.DataFrame(data.L, columns=[f"v{j}" for j in range(5)])
    >>> lfs = [vectorized_lf(lambda d, j=j: d[f"v{j}"], name=f"copy_{j}") for j in range(5)]
    >>> blocks = apply_lfs(dd.from_pandas(df, npartitions=4), lfs)
    >>> model = dp.LabelModel(method="closed_form").fit(overlap_stats(blocks, scheduler="synchronous"))
    >>> y_soft = soft_labels(blocks, model).compute(scheduler="synchronous")
    >>> bool(np.allclose(y_soft.to_numpy(), model.predict_proba(data.L)[:, 1]))
    True
    """
    import dask
    import dask.dataframe as dd

    blocks = _check_blocks(blocks)
    if not hasattr(model, "accuracies_"):
        from ..label_model import NotFittedError

        raise NotFittedError("the label model is not fitted yet; fit it first, e.g. dp.LabelModel().fit(scale.overlap_stats(blocks))")
    if model.n_lfs_ != blocks.m:
        raise ValueError(f"the model was fit with {model.n_lfs_} LFs but the blocks have {blocks.m}")
    posterior = dask.delayed(_posterior_of_block, pure=True)
    parts = [posterior(part, model.accuracies_, model.class_prior) for part in blocks.parts]
    return dd.from_delayed(parts, meta=pd.Series(dtype=np.float64, name="y_soft"), divisions=blocks.divisions)


def _posterior_of_block(block: LabelBlock, accuracies: np.ndarray, class_prior: float) -> pd.Series:
    from ..label_model import posterior

    L = block.L
    if L.shape[0] == 0:
        values = np.zeros(0)
    elif isinstance(L, np.ndarray):
        values = _dense_posterior(L, accuracies, class_prior)
    else:
        values = posterior(L, accuracies, class_prior)
    return pd.Series(values, index=block.index, name="y_soft")


def _dense_posterior(L: np.ndarray, accuracies: np.ndarray, class_prior: float) -> np.ndarray:
    """``dp.posterior`` of a dense int8 block (from the wide layout, in Fortran order).

    The same formula, as one float64 matrix-vector product per row chunk; the sum over the
    votes of a row runs in another order than the sparse product's, so the two agree to about
    1e-15, not bit for bit.
    """
    from scipy.special import expit, logit

    from .._validation import check_label_matrix
    from ..label_model import log_odds

    L = check_label_matrix(L)
    w = log_odds(accuracies)
    score = np.empty(L.shape[0])
    with single_blas_thread():
        for start in range(0, L.shape[0], _CHUNK):
            score[start : start + _CHUNK] = L[start : start + _CHUNK].astype(np.float64) @ w
    return expit(score + logit(class_prior))


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
