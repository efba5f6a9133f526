"""Checks of the label model's assumptions that need no ground truth."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._validation import check_accuracies, check_label_matrix, check_overlap_matrix, check_signed_accuracies, column_vote_counts
from .overlaps import OverlapStats, overlap_stats


def overlap_residuals(Z: np.ndarray, q: Any) -> np.ndarray:
    """``Z - q q^T`` off the diagonal: what the fitted accuracies leave unexplained.

    Under conditional independence the residuals are sampling noise around 0. A large
    positive residual means two LFs agree more than their accuracies explain: they are
    probably correlated (copies, or rules built on the same signal).

    Returns
    -------
    ndarray of shape (m, m)
        NaN on the diagonal and where a pair never overlaps.

    Examples
    --------
    >>> Z = np.array([[1, 0.9, 0.1], [0.9, 1, 0.1], [0.1, 0.1, 1]])
    >>> overlap_residuals(Z, [0.3, 0.3, 0.3]).round(2)[0].tolist()
    [nan, 0.81, 0.01]
    """
    q = check_signed_accuracies(q)
    Z = check_overlap_matrix(Z, m=q.size)
    residuals = Z - np.outer(q, q)
    np.fill_diagonal(residuals, np.nan)
    return residuals


def correlated_pairs(
    L: Any, q: Any, threshold: float = 4.0, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Pairs of LFs that agree far more (or less) than independent LFs with accuracies q would.

    ``Z_jk`` averages ``c_jk`` products of votes, each +1 or -1 with mean ``q_j q_k``, so under
    independence its standard error is ``sqrt((1 - (q_j q_k)^2) / c_jk)``. The table lists the
    pairs whose standardized residual ``z`` exceeds ``threshold`` in absolute value.

    Parameters
    ----------
    L : array-like, scipy.sparse matrix, or OverlapStats
    q : array-like of shape (m,)
        Fitted signed accuracies (``LabelModel.signed_accuracies_``), finite, in [-1, 1]; a fit
        that overshoots a little (up to 1.1 in absolute value) is clipped to [-1, 1] first, and
        ``expected`` and ``residual`` both use the clipped ``q``.
    threshold : float
        How many standard errors count as suspicious.
    names : sequence of m str, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``lf_j``, ``lf_k`` (the pair, j < k), ``overlaps``, ``Z``, ``expected`` (``q_j q_k``), ``residual``,
        ``z``; sorted by ``z``, largest first.
    """
    stats = L if isinstance(L, OverlapStats) else overlap_stats(L)
    q = check_signed_accuracies(q, m=stats.m)
    threshold = _check_threshold(threshold)
    if isinstance(names, str):
        raise TypeError("names must be a list of m LF names, not a single str")
    names = list(names) if names is not None else [f"LF {k}" for k in range(stats.m)]
    if len(names) != stats.m:
        raise ValueError(f"names has {len(names)} entries but there are {stats.m} LFs; give one name per LF")
    Z = stats.overlap_matrix()
    # Clip first, so that residual = Z - expected holds in every row of the table.
    q = np.clip(q, -1, 1)
    R = overlap_residuals(Z, q)
    expected = np.outer(q, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        # An unclipped fit can put |q| at or past 1, where the variance 1 - (q_j q_k)^2 vanishes;
        # no average of c_jk votes is known better than about 1 / c_ij.
        variance = np.maximum(1 - expected**2, 1 / stats.counts) / stats.counts
        z = R / np.sqrt(variance)
    j, k = np.triu_indices(stats.m, 1)
    keep = np.abs(np.nan_to_num(z[j, k])) > threshold
    table = pd.DataFrame(
        {
            "lf_j": [names[a] for a in j[keep]],
            "lf_k": [names[b] for b in k[keep]],
            "overlaps": stats.counts[j, k][keep],
            "Z": Z[j, k][keep],
            "expected": expected[j, k][keep],
            "residual": R[j, k][keep],
            "z": z[j, k][keep],
        }
    )
    return table.sort_values("z", ascending=False, ignore_index=True)


def _check_threshold(threshold: Any) -> float:
    if isinstance(threshold, (str, bytes, bool)) or not isinstance(threshold, (int, float, np.number)) \
            or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number of standard errors (negative: every pair); got {threshold!r}")
    return float(threshold)


def estimate_class_prior(L: Any, accuracies: Any, clip: tuple[float, float] = (0.01, 0.99)) -> float:
    """Estimate ``pi = P(y = +1)`` from the votes and the LF accuracies, without labels.

    When LF j votes, its mean vote is ``q_j (2 pi - 1)``: accurate LFs lean towards the
    majority class. Least squares over the LFs, each weighted by its number of votes, gives
    ``2 pi - 1 = sum_j c_j q_j v_j / sum_j c_j q_j^2`` with ``v_j`` its mean vote.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.where(rng.random(50_000) < 0.8, 1, -1)
    >>> L = np.stack([np.where(rng.random(50_000) < 0.8, y, -y) for _ in range(5)], axis=1)
    >>> round(estimate_class_prior(L, [0.8] * 5), 2)
    0.8
    """
    L = check_label_matrix(L)
    q = 2 * check_accuracies(accuracies, m=L.shape[1], closed=True) - 1
    if isinstance(clip, (str, bytes)) or not hasattr(clip, "__len__") or len(clip) != 2 \
            or not all(isinstance(c, (int, float, np.number)) and not isinstance(c, bool) for c in clip) \
            or not 0 <= clip[0] < clip[1] <= 1:
        raise ValueError(f"clip must be (low, high) with 0 <= low < high <= 1; got {clip!r}")
    counts = column_vote_counts(L).astype(np.float64)
    sums = np.asarray(L.sum(axis=0, dtype=np.int64), dtype=np.float64).ravel()
    denominator = np.sum(counts * q**2)
    if denominator == 0:
        raise ValueError("no LF with accuracy other than 0.5 votes, so the votes say nothing about the class balance")
    balance = np.sum(q * sums) / denominator
    return float(np.clip((balance + 1) / 2, *clip))
