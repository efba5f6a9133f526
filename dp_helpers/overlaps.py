"""Overlap statistics of a label matrix: how often each pair of LFs votes together, and agrees.

``Z[i, j] = (L^T L)[i, j] / (|L|^T |L|)[i, j]`` is (agreements - disagreements) / overlaps,
the agreement rate of LFs i and j rescaled to [-1, 1]. Under conditional independence
its expectation is ``q_i * q_j`` with ``q = 2 p - 1``.
"""
from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._validation import check_label_matrix, is_sparse

# Rows per chunk: small enough to keep float32 products exact (< 2**24) and memory flat,
# large enough for BLAS to run at full speed.
_CHUNK = 16_384
# Rows per product in the dense path: 4096 x m float32 stays in the CPU's cache between the two
# products of a chunk (measured fastest for m = 100; 16384 rows cost about 15 % more).
_BLAS_ROWS = 4_096
# Votes per row beyond which BLAS on dense row blocks beats counting pairs of votes (the pair
# count grows with the square of the votes per row; measured crossover about 20 here).
_DENSE_BEYOND = 20


@dataclass(frozen=True)
class OverlapStats:
    """Sufficient statistics of ``L`` for the label model.

    Attributes
    ----------
    signed : ndarray of shape (m, m), int64
        ``L^T L``: agreements minus disagreements; the diagonal counts each LF's votes.
    counts : ndarray of shape (m, m), int64
        ``|L|^T |L|``: points on which both LFs vote.
    n : int
        Number of points (rows of ``L``) the statistics summarize.

    Statistics of two partitions of the rows add up: ``overlap_stats(L1) + overlap_stats(L2)``
    equals ``overlap_stats(np.vstack([L1, L2]))``, which is what lets the label model be fit
    from a map-reduce over partitions.
    """

    signed: np.ndarray
    counts: np.ndarray
    n: int

    def __post_init__(self) -> None:
        """Refuse statistics no label matrix can have, so a model is never fit to them."""
        signed, counts = np.asarray(self.signed), np.asarray(self.counts)
        if signed.ndim != 2 or signed.shape[0] != signed.shape[1] or counts.shape != signed.shape:
            raise ValueError(f"signed and counts must be m x m of one shape; got {signed.shape} and {counts.shape}")
        for what, matrix in (("signed", signed), ("counts", counts)):
            if not np.issubdtype(matrix.dtype, np.integer):
                raise TypeError(f"{what} must hold integer counts; got dtype {matrix.dtype}")
            if not np.array_equal(matrix, matrix.T):
                i, j = np.argwhere(matrix != matrix.T)[0]
                raise ValueError(f"{what} must be symmetric; {what}[{i}, {j}] != {what}[{j}, {i}]")
        n = self.n
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int (number of points); got {n!r}")
        votes = np.diag(counts)
        checks = [
            (counts < 0, "a count of overlaps is negative"),
            (np.abs(signed) > counts, "|agreements - disagreements| exceeds the overlaps (|Z| > 1)"),
            ((signed - counts) % 2 != 0, "agreements - disagreements and agreements + disagreements differ in parity"),
            (counts > np.minimum.outer(votes, votes), "two LFs overlap on more points than one of them votes on"),
        ]
        for bad, why in checks:
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise ValueError(f"impossible overlap statistics at LFs ({i}, {j}): {why}")
        if not np.array_equal(np.diag(signed), votes):
            raise ValueError("impossible overlap statistics: the diagonal of signed must equal that of counts (v * v = 1)")
        if votes.size and votes.max() > n:
            raise ValueError(f"impossible overlap statistics: an LF votes {votes.max()} times on n = {n} points")

    @property
    def m(self) -> int:
        return self.signed.shape[0]

    def __add__(self, other: "OverlapStats") -> "OverlapStats":
        if not isinstance(other, OverlapStats):
            return NotImplemented
        if other.m != self.m:
            raise ValueError(f"cannot add statistics of {self.m} LFs and {other.m} LFs")
        return OverlapStats(self.signed + other.signed, self.counts + other.counts, self.n + other.n)

    def overlap_matrix(self) -> np.ndarray:
        """``Z`` as float64 (m, m), NaN where two LFs never vote on the same point."""
        with np.errstate(invalid="ignore", divide="ignore"):
            Z = self.signed / self.counts
        Z[self.counts == 0] = np.nan
        return Z


def overlap_stats(L: Any) -> OverlapStats:
    """Compute :class:`OverlapStats` of a dense or sparse label matrix.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)
        Votes -1, +1, or 0 (abstain).

    Returns
    -------
    OverlapStats

    Raises
    ------
    ValueError
        If ``L`` holds values other than -1, 0, +1, NaN, or is not 2-D or empty.

    Examples
    --------
    >>> s = overlap_stats([[1, 1, 0], [1, -1, -1]])
    >>> s.signed.tolist(), s.counts.tolist()
    ([[2, 0, -1], [0, 2, 1], [-1, 1, 1]], [[2, 2, 1], [2, 2, 1], [1, 1, 1]])
    """
    L = check_label_matrix(L)
    if is_sparse(L) and L.nnz < _DENSE_BEYOND * L.shape[0]:
        return _sparse_stats(L)
    return _dense_stats(L)


def overlap_matrix(L: Any, return_counts: bool = False):
    """The overlap matrix ``Z`` of a label matrix.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)
        Votes -1, +1, or 0 (abstain).
    return_counts : bool
        Also return ``|L|^T |L|``, the number of points each pair votes on together.

    Returns
    -------
    Z : ndarray of shape (m, m)
        Symmetric, with unit diagonal for every LF that votes, and NaN where a pair
        never overlaps (no evidence, rather than a division by zero).
    counts : ndarray of shape (m, m), int64
        Only if ``return_counts``.

    Examples
    --------
    >>> Z = overlap_matrix([[1, 1, 0], [1, -1, -1], [-1, -1, 0]])
    >>> Z.round(2).tolist()
    [[1.0, 0.33, -1.0], [0.33, 1.0, 1.0], [-1.0, 1.0, 1.0]]
    """
    stats = overlap_stats(L)
    Z = stats.overlap_matrix()
    return (Z, stats.counts) if return_counts else Z


def row_chunks(L: Any):
    """Yield consecutive blocks of ``_CHUNK`` rows of a dense or CSR matrix (views or cheap slices)."""
    for start in range(0, L.shape[0], _CHUNK):
        yield L[start : start + _CHUNK]


def _dense_stats(L: Any) -> OverlapStats:
    """``L^T L`` and ``|L|^T |L|`` by BLAS on float32 row blocks (exact: every sum is < 2**24).

    A block is ``L`` itself (int8, either memory order) or a CSR row block made dense; the
    products run on one BLAS thread (see :func:`single_blas_thread`).
    """
    n, m = L.shape
    signed = np.zeros((m, m), dtype=np.int64)
    counts = np.zeros((m, m), dtype=np.int64)
    with single_blas_thread():
        for start in range(0, n, _BLAS_ROWS):
            rows = L[start : start + _BLAS_ROWS]
            # astype keeps the memory order of a dense block (F from Parquet, C otherwise)
            block = rows.astype(np.float32).toarray() if is_sparse(rows) else rows.astype(np.float32)
            signed += np.rint(block.T @ block).astype(np.int64)
            np.abs(block, out=block)
            counts += np.rint(block.T @ block).astype(np.int64)
    return OverlapStats(signed, counts, n)


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limit = None


@contextmanager
def single_blas_thread():
    """Run NumPy's BLAS on one thread inside the block, safely from several threads at once.

    The products here are tall and thin (thousands of rows, ``m`` columns): OpenBLAS's extra
    threads buy little for them and, when the cores are busy (Dask's own worker threads, other
    jobs), they wait for each other: measured on 2 cores, 10x the CPU time and more wall time.
    Parallelism comes from the partitions instead. OpenBLAS's limit is process-wide, so it is
    set by the first thread that enters and restored by the last that leaves (which may be
    another thread: threadpoolctl lets one thread at a time control OpenBLAS, hence the
    hand-over in :func:`_set_blas_limit`).
    """
    global _blas_users, _blas_limit
    with _blas_lock:
        if _blas_users == 0:
            _blas_limit = _set_blas_limit(None)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _set_blas_limit(_blas_limit)
                _blas_limit = None


def _set_blas_limit(limiter):
    """Limit BLAS to one thread (``limiter`` None) or restore the limits ``limiter`` replaced."""
    import threadpoolctl  # a dependency of scikit-learn, so always there

    # threadpoolctl >= 3.8 ignores OpenBLAS limits set from any thread but the one that first
    # set one; hand control to this thread (and release it after), under _blas_lock.
    handover = getattr(getattr(threadpoolctl, "OpenBLASController", None), "clear_controlling_thread", None)
    if handover is not None:
        handover(force=True)
    try:
        if limiter is None:
            return _blas_controller().limit(limits=1, user_api="blas")
        limiter.restore_original_limits()
        return None
    finally:
        if handover is not None:
            handover(force=True)


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController  # a dependency of scikit-learn, so always there

    return ThreadpoolController()


def _sparse_stats(L: sp.csr_matrix) -> OverlapStats:
    """Count co-occurring (LF, vote) codes row by row, grouped by row length.

    A general sparse product ``L.T @ L`` spends most of its time on bookkeeping; with few
    votes per row it is faster to list each row's pairs of codes and ``bincount`` them.
    Code ``j`` means "LF j voted +1" and ``j + m`` "LF j voted -1".
    """
    n, m = L.shape
    K = 2 * m
    code = L.indices.astype(np.int32)
    code[L.data < 0] += m
    pair_counts = np.zeros(K * K, dtype=np.int64)
    pair_counts[:: K + 1] = np.bincount(code, minlength=K)
    row_len = np.diff(L.indptr)
    order = np.argsort(row_len, kind="stable")
    bounds = np.searchsorted(row_len[order], np.arange(row_len.max() + 2))
    for k in range(2, int(row_len.max()) + 1):
        rows = order[bounds[k] : bounds[k + 1]]
        if rows.size == 0:
            continue
        block = code[L.indptr[rows][:, None] + np.arange(k)]
        a, b = np.triu_indices(k, 1)
        pair_counts += np.bincount((block[:, a] * K + block[:, b]).ravel(), minlength=K * K)
    G = pair_counts.reshape(K, K)
    G = G + G.T - np.diag(np.diag(G))
    pos_pos, pos_neg, neg_pos, neg_neg = G[:m, :m], G[:m, m:], G[m:, :m], G[m:, m:]
    agree = pos_pos + neg_neg
    disagree = pos_neg + neg_pos
    return OverlapStats(agree - disagree, agree + disagree, n)
