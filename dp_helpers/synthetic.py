"""Synthetic data: the original tutorial's exact random stream, and a modern generator with knobs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ._validation import check_probability


@dataclass
class SyntheticData:
    """A synthetic weak-supervision problem.

    Attributes
    ----------
    X : ndarray of shape (n, d)
        Binary features (float64 0/1, as in the original tutorial).
    y : ndarray of shape (n,)
        True labels, -1 or +1 (int64).
    L : ndarray of shape (n, m)
        Label matrix: +1 / -1 votes, 0 = abstain (int8).
    feature_accuracies : ndarray of shape (d,)
        The original's ``feature_accs``, kept under its name for the seed-exact replay. Despite
        the name, feature k agrees with the label with probability ``1 - feature_accuracies[k]``
        (the original sets it when a draw *exceeds* this value); both lie in [0.4, 0.6].
    lf_accuracies : ndarray of shape (m,)
        The true accuracy p_j = P(vote correct | LF j votes).
    coverage : ndarray of shape (m,)
        The probability that each LF votes.
    groups : list of lists of int
        LFs that are exact copies of one another (one list per duplicated LF; empty if none).
    """

    X: np.ndarray
    y: np.ndarray
    L: np.ndarray
    feature_accuracies: np.ndarray
    lf_accuracies: np.ndarray
    coverage: np.ndarray
    groups: list = field(default_factory=list)


def make_original_tutorial_data(
    n: int = 10_000, d: int = 100, m: int = 20, coverage: float = 0.25, random_state: int = 123
) -> SyntheticData:
    """The original tutorial's data, draw for draw, without its Python loops.

    The 2016 notebook seeds NumPy's legacy generator with ``np.random.seed(123)``,
    draws labels, feature accuracies, features (one draw per cell, row by row),
    LF accuracies in [0.45, 0.75], then the label matrix with one draw per cell for
    coverage and a second draw only where the LF votes. This function consumes the
    same stream in the same order, so ``X``, ``y`` and ``L`` are identical to the loops'.

    Parameters
    ----------
    n, d, m : int
        Points, features and labeling functions.
    coverage : float
        Probability that an LF votes on a point (the original's ``LF_COVERAGE``).
    random_state : int
        Seed of the legacy ``np.random.RandomState``.

    Returns
    -------
    SyntheticData

    Examples
    --------
    >>> data = make_original_tutorial_data(n=50, d=4, m=3)
    >>> data.L.shape, sorted(set(data.L.ravel().tolist())) <= [-1, 0, 1]
    ((50, 3), True)
    """
    coverage = check_probability(coverage, "coverage")
    rs = np.random.RandomState(random_state)
    y = 2 * rs.randint(2, size=(n,)) - 1
    feature_accs = 0.2 * rs.random_sample((d,)) + 0.4
    # The loop sets X = 1 for a positive point when the draw exceeds the feature accuracy.
    u = rs.random_sample((n, d))
    X = np.greater(u, feature_accs)
    X ^= (y != 1)[:, None]
    X = X.astype(np.float64)
    lf_accs = 0.3 * rs.random_sample((m,)) + 0.45
    L = _original_label_loop(rs, y, lf_accs, coverage)
    return SyntheticData(X, y, L, feature_accs, lf_accs, np.full(m, coverage))


def _original_label_loop(rs: np.random.RandomState, y: np.ndarray, accs: np.ndarray, coverage: float) -> np.ndarray:
    """Vectorized replay of: for each cell, draw u; if u < coverage, draw v and vote y or -y.

    Each cell consumes one draw, or two when the LF votes, so the stream is split into
    "cell" draws and "accuracy" draws. A draw follows a cell draw that voted iff it is an
    accuracy draw; inside a run of draws below ``coverage`` the roles therefore alternate.
    """
    n, m = y.shape[0], accs.shape[0]
    # At most two draws per cell; the generator is private, so over-drawing is harmless.
    stream = rs.random_sample(2 * n * m)
    low = stream < coverage
    # For each draw t >= 1, where the run of low draws holding draw t - 1 started.
    prev_low = low[:-1]
    starts = np.flatnonzero(prev_low & ~np.concatenate(([False], prev_low[:-1])))
    run_start = np.zeros(prev_low.size, dtype=np.int64)
    run_start[starts] = starts
    np.maximum.accumulate(run_start, out=run_start)
    is_accuracy_draw = np.zeros(stream.size, dtype=bool)
    is_accuracy_draw[1:] = prev_low & ((np.arange(prev_low.size) - run_start) % 2 == 0)
    cells = np.flatnonzero(~is_accuracy_draw)[: n * m]

    votes = low[cells].reshape(n, m)
    correct = stream[cells + 1].reshape(n, m) < accs
    L = np.where(correct, y[:, None], -y[:, None]) * votes
    return L.astype(np.int8)


def make_synthetic(
    n: int = 10_000,
    d: int = 100,
    m: int = 20,
    coverage: float | Sequence[float] = 0.25,
    lf_accuracies: tuple[float, float] | Sequence[float] = (0.45, 0.75),
    class_balance: float = 0.5,
    duplicates: Mapping[int, int] | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> SyntheticData:
    """A synthetic problem with knobs for the experiments that break the assumptions.

    Parameters
    ----------
    n, d, m : int
        Points, binary features and independent LFs.
    coverage : float or sequence of m floats
        Probability that each LF votes on a point.
    lf_accuracies : (low, high) or sequence of m floats
        A range to draw accuracies uniformly from, or the accuracies themselves.
    class_balance : float
        P(y = +1).
    duplicates : mapping {lf index: number of extra copies}, optional
        Each listed LF gets that many exact copies appended as new columns of ``L``:
        perfectly correlated LFs, which break conditional independence.
    random_state : int, Generator or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    SyntheticData
        ``L`` has ``m + sum(duplicates.values())`` columns; ``groups`` lists the copies.

    Examples
    --------
    >>> data = make_synthetic(n=1000, m=5, duplicates={0: 2}, random_state=1)
    >>> data.L.shape, data.groups
    ((1000, 7), [[0, 5, 6]])
    """
    for name, value in (("n", n), ("d", d), ("m", m)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if isinstance(coverage, (str, bytes)) or isinstance(lf_accuracies, (str, bytes)):
        raise TypeError("coverage and lf_accuracies must be numbers, not str")
    rng = np.random.default_rng(random_state)
    class_balance = check_probability(class_balance, "class_balance")
    cov = np.broadcast_to(np.asarray(coverage, dtype=float), (m,)).copy()
    if np.any((cov <= 0) | (cov > 1)):
        raise ValueError(f"coverage must lie in (0, 1]; got {cov.min():g} .. {cov.max():g}")
    accs = _lf_accuracies(lf_accuracies, m, rng)
    y = np.where(rng.random(n) < class_balance, 1, -1)
    feature_accs = 0.2 * rng.random(d) + 0.4
    X = np.where(rng.random((n, d)) > feature_accs, (y == 1)[:, None], (y != 1)[:, None]).astype(np.float64)
    votes = rng.random((n, m)) < cov
    correct = rng.random((n, m)) < accs
    L = (np.where(correct, y[:, None], -y[:, None]) * votes).astype(np.int8)
    L, accs, cov, groups = _append_copies(L, accs, cov, duplicates or {})
    return SyntheticData(X, y, L, feature_accs, accs, cov, groups)


def _lf_accuracies(spec, m: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.asarray(spec, dtype=float)
    if spec.shape == (2,) and m != 2:
        low, high = spec
        if not 0 < low <= high < 1:
            raise ValueError(f"lf_accuracies range must satisfy 0 < low <= high < 1; got ({low:g}, {high:g})")
        return low + (high - low) * rng.random(m)
    if spec.shape != (m,):
        raise ValueError(f"lf_accuracies must be a (low, high) pair or {m} values; got shape {spec.shape}")
    if np.any((spec <= 0) | (spec >= 1)):
        raise ValueError("lf_accuracies must lie strictly between 0 and 1")
    return spec.copy()


def _append_copies(L, accs, cov, duplicates):
    m = L.shape[1]
    extra, groups = [], []
    for j, copies in duplicates.items():
        if not 0 <= j < m:
            raise ValueError(f"duplicates names LF {j}, but there are only {m} LFs (0 .. {m - 1})")
        start = m + sum(len(g) - 1 for g in groups)
        groups.append([j] + list(range(start, start + copies)))
        extra.extend([j] * copies)
    if not extra:
        return L, accs, cov, groups
    return np.hstack([L, L[:, extra]]), np.concatenate([accs, accs[extra]]), np.concatenate([cov, cov[extra]]), groups
