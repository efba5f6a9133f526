"""The class-conditional (Dawid-Skene) label model, fitted by EM on distinct vote patterns.

The one-coin model of chapter 2 gives every LF one accuracy and one coverage, whatever the true
class. Keyword rules break it: "check out my channel" votes spam and never ham, so its abstaining
depends on the class and it has no accuracy on ham at all. The class-conditional model of Dawid
and Skene (1979) estimates, for every LF j and class c, the whole table

    theta[j, v, c] = P(lambda_j = v | y = c),   v in {abstain, class 1, ..., class K},

and the class prior pi_c = P(y = c). Votes are conditionally independent given y, so

    P(y = c | lambda) ∝ pi_c * prod_j theta[j, lambda_j, c].

EM alternates that posterior (E-step) with counting (M-step). Two things keep it fast and sane:

- it works on the distinct rows of L (vote patterns) and their counts, the sufficient statistics,
  so after the one pass that counts patterns an iteration costs the same for 1e3 or 1e7 rows;
- ``smoothing`` adds a Dirichlet pseudo-count to every cell (MAP-EM), so no probability is 0 or 1,
  and the penalised log-likelihood never decreases from one iteration to the next (tested);
- ``better_than_chance`` constrains every LF to vote for a class at least as often when that class
  is true as when any other class is (the one thing we know about an LF without labels). A plain
  EM can break it when LFs depend on each other given y: on YouTube spam, link spam and "check out
  my channel" spam rarely share a comment, and the unconstrained maximum likelihood explains the
  link rule as a ham rule. The constrained M-step pools the violating classes (the exact maximiser
  of EM's expected log-likelihood under the constraint), so EM stays monotone.

Label conventions: 0 is abstain everywhere. Binary L uses -1/+1 (``classes_ = [-1, 1]``); K
classes use 1..K. Snorkel writes abstain as -1 and classes as 0..K-1: see :func:`from_snorkel`.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator

from ._validation import as_label_array, check_int, check_n_classes, check_positive_int, check_real
from .label_model import ConvergenceWarning, NotFittedError

__all__ = ["ClassConditionalLabelModel", "from_snorkel", "sample_from_tables", "to_snorkel"]


class ClassConditionalLabelModel(BaseEstimator):
    """Dawid-Skene label model: one table P(vote | true class) per LF, fitted by EM.

    Parameters
    ----------
    n_classes : int, optional
        Number of classes K >= 2 for labels 1..K; needed only when the largest class never
        receives a vote. Binary label matrices (votes -1/+1) need nothing.
    smoothing : float, default 1.0
        Dirichlet pseudo-count added to every cell of every table and to the class prior (MAP
        estimate); > 0 keeps every probability strictly between 0 and 1.
    max_iter : int, default 500
        Most EM iterations.
    tol : float, default 1e-7
        Stop when the penalised log-likelihood per data point improves by less than this.
    better_than_chance : bool, default True
        Constrain ``P(lambda_j = c | y = c) >= P(lambda_j = c | y = c')`` for every LF j and
        classes c != c' (see the module notes). False gives the plain Dawid-Skene EM.
    init : {"majority_vote", "random"}, default "majority_vote"
        Starting posterior: the vote shares of each row (rows without votes: uniform), or a
        random Dirichlet draw seeded by ``random_state``.
    class_prior : array-like of shape (K,), optional
        Fix ``P(y = c)`` instead of estimating it.
    random_state : int, default 0
        Seeds ``init="random"``.

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
        The class labels, ``[-1, 1]`` or ``[1, ..., K]``; ``predict_proba`` columns are in this
        order.
    conditional_ : ndarray of shape (m, K + 1, K)
        ``conditional_[j, v, c] = P(lambda_j = outcome v | y = classes_[c])`` where outcome 0 is
        abstain and outcome v >= 1 is a vote for ``classes_[v - 1]``. Each ``[j, :, c]`` sums to 1.
    class_prior_ : ndarray of shape (K,)
    n_iter_ : int
    objective_ : ndarray
        Penalised log-likelihood per data point after each iteration (non-decreasing).
    converged_ : bool
    n_patterns_ : int
        Distinct rows of the L the model was fitted on.
    vote_counts_ : ndarray of shape (m, K)
        How often each LF voted for each class in that L (its polarity is where this is > 0).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.choice([-1, 1], size=5000)
    >>> def one_class_lf(cls, hit, false_alarm):   # votes cls or abstains
    ...     rate = np.where(y == cls, hit, false_alarm)
    ...     return np.where(rng.random(y.size) < rate, cls, 0)
    >>> L = np.column_stack([one_class_lf(1, .6, .05), one_class_lf(1, .4, .1),
    ...                      one_class_lf(-1, .5, .05), one_class_lf(-1, .3, .1)])
    >>> model = ClassConditionalLabelModel().fit(L)
    >>> model.predict_proba(L).shape
    (5000, 2)
    >>> bool((model.predict(L) == y).mean() > 0.7)
    True
    """

    def __init__(self, n_classes: int | None = None, smoothing: float = 1.0,
                 better_than_chance: bool = True, max_iter: int = 500, tol: float = 1e-7,
                 init: str = "majority_vote", class_prior: Any = None, random_state: int = 0):
        self.n_classes = n_classes
        self.smoothing = smoothing
        self.better_than_chance = better_than_chance
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.class_prior = class_prior
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, L: Any) -> "ClassConditionalLabelModel":
        """Fit the tables and the class prior to a label matrix by EM.

        Parameters
        ----------
        L : array-like or scipy.sparse matrix of shape (n, m)
            Votes: 0 abstains; -1/+1 (binary) or 1..K.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Fewer than 3 LFs, an LF that never votes, votes outside the label convention, or an
            invalid parameter (named in the message).
        """
        self._check_params()
        key = _fingerprint(L)
        idx, classes = _to_outcomes(L, self.n_classes)
        n, m = idx.shape
        if m < 3:
            raise ValueError(f"L has {m} LF{'s' if m != 1 else ''}; the class-conditional model needs at least 3 "
                             "(its tables are identified from agreements among three or more LFs)")
        K = classes.size
        prior = None
        if self.class_prior is not None:
            prior = _check_prior(self.class_prior, K)
        patterns, counts, inverse = _patterns(idx, K)
        onehot = _onehot(patterns, K)                       # (U, m*K) sparse incidence of votes
        vote_counts = (onehot.T @ counts).reshape(m, K)
        silent = np.flatnonzero(vote_counts.sum(axis=1) == 0)
        if silent.size:
            raise ValueError(f"LF {int(silent[0])} (column {int(silent[0])} of L) never votes; remove it, "
                             "since nothing can be learned about an LF that always abstains")
        votes = _votes_per_class(onehot, K)                 # (U, K): votes for each class
        post = self._initial_posterior(votes)
        history = []
        alpha = float(self.smoothing)
        self.converged_ = False
        theta = None
        for it in range(1, self.max_iter + 1):
            theta, pi = _m_step(onehot, counts, post, m, K, alpha, prior, self.better_than_chance, theta)
            post, norm = _normalise(_log_joint(onehot, theta, pi))
            penalty = alpha * np.log(theta).sum() + (alpha * np.log(pi).sum() if prior is None else 0.0)
            history.append((counts @ norm + penalty) / n)
            if it > 1 and history[-1] - history[-2] < self.tol:
                self.converged_ = True
                break
        if not self.converged_:
            warnings.warn(f"EM stopped after max_iter={self.max_iter} iterations before the objective changed by less "
                          f"than tol={self.tol}; raise max_iter", ConvergenceWarning, stacklevel=2)
        theta, pi = _align_classes(theta, pi, post, votes, counts)
        self.classes_ = classes
        self.conditional_ = theta
        self.class_prior_ = pi
        self.n_iter_ = it
        self.objective_ = np.asarray(history)
        self.n_patterns_ = int(counts.size)
        self.n_lfs_ = m
        self.vote_counts_ = vote_counts.astype(np.int64)
        # predict_proba on the very same L (the usual next call) reuses the patterns counted here
        self._fit_cache = (key, onehot, inverse) if key is not None else None
        return self

    def _check_params(self) -> None:
        check_n_classes(self.n_classes)
        check_real(self.smoothing, "smoothing", low=0, strict=True)
        check_positive_int(self.max_iter, "max_iter")
        check_real(self.tol, "tol", low=0)
        if not isinstance(self.better_than_chance, (bool, np.bool_)):
            raise ValueError(f"better_than_chance must be True or False; got {self.better_than_chance!r}")
        if self.init not in ("majority_vote", "random"):
            raise ValueError(f"init must be 'majority_vote' or 'random'; got {self.init!r}")
        check_int(self.random_state, "random_state")

    def _initial_posterior(self, votes: np.ndarray) -> np.ndarray:
        U, K = votes.shape
        if self.init == "random":
            return np.random.default_rng(self.random_state).dirichlet(np.ones(K), size=U)
        total = votes.sum(axis=1, keepdims=True)
        return np.where(total > 0, votes / np.maximum(total, 1), 1.0 / K)

    # --------------------------------------------------------------- predicting
    def predict_proba(self, L: Any) -> np.ndarray:
        """``P(y = c | votes)`` for each row of ``L``, shape (n, K), columns in ``classes_`` order."""
        self._check_fitted()
        K = self.classes_.size
        cache = getattr(self, "_fit_cache", None)
        if cache is not None and _fingerprint(L) == cache[0]:
            onehot, inverse = cache[1], cache[2]
        else:
            idx, _ = _to_outcomes(L, K, classes=self.classes_)
            if idx.shape[1] != self.n_lfs_:
                raise ValueError(f"L has {idx.shape[1]} LFs (columns) but the model was fit with {self.n_lfs_}")
            patterns, _, inverse = _patterns(idx, K)
            onehot = _onehot(patterns, K)
        post, _ = _normalise(_log_joint(onehot, self.conditional_, self.class_prior_))
        return post[inverse]

    def predict(self, L: Any) -> np.ndarray:
        """The most probable class of each row. An exact tie goes to the class listed first in
        ``classes_``: a fixed rule, so a row's label never depends on the other rows."""
        proba = self.predict_proba(L)
        return self.classes_[np.argmax(proba, axis=1)]

    def lf_accuracies(self) -> np.ndarray:
        """For each LF and class, ``P(y = c | lambda_j = c)``: how often a vote for c is right.

        Returns
        -------
        ndarray of shape (m, K); NaN where the LF never voted for c in the fitted L.
        """
        self._check_fitted()
        votes = self.conditional_[:, 1:, :] * self.class_prior_[None, None, :]   # P(vote v, y c)
        right = np.diagonal(votes, axis1=1, axis2=2)                           # (m, K): v == c
        return np.where(self.vote_counts_ > 0, right / votes.sum(axis=2), np.nan)

    def _check_fitted(self) -> None:
        if not hasattr(self, "conditional_"):
            raise NotFittedError("this ClassConditionalLabelModel is not fitted yet; call fit(L) first")


# ---------------------------------------------------------------------- helpers
def _to_outcomes(L: Any, n_classes: int | None, *, classes: np.ndarray | None = None):
    """Outcome indices (0 abstain, 1..K classes) as a dense int16 array, and ``classes_``."""
    L, _ = as_label_array(L, votes="-1, 0, +1 or classes 1..K")
    A = L.toarray() if sp.issparse(L) else L
    if A.dtype == bool:
        raise TypeError("L holds booleans; votes are 0 (abstain), -1/+1, or a class 1..K: use L.astype(int)")
    if np.issubdtype(A.dtype, np.floating):
        bad = ~np.isfinite(A) | (A != np.round(A))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"L[{i}, {j}] is {A[i, j]}; votes must be whole numbers (0 = abstain)"
                             + (" (a missing vote is an abstention: fillna(0))" if np.isnan(A[i, j]) else ""))
    low, high = int(A.min()), int(A.max())
    if classes is None:
        if low < 0:
            classes = np.array([-1, 1])
            if n_classes not in (None, 2):
                raise ValueError(f"L holds -1 votes (the binary -1/+1 convention) but n_classes={n_classes}; "
                                 "with K > 2 classes use labels 1..K")
        else:
            K = high if n_classes is None else int(n_classes)
            if K < 2:
                raise ValueError("L's votes name fewer than 2 classes; pass n_classes, or use -1/+1 for binary labels")
            classes = np.arange(1, K + 1)
    binary = classes[0] == -1
    allowed_low, allowed_high = (-1, 1) if binary else (0, classes.size)
    if low < allowed_low or high > allowed_high:
        expected = "-1, 0 (abstain) or +1" if binary else f"0 (abstain) or a class 1..{classes.size}"
        i, j = np.argwhere((A < allowed_low) | (A > allowed_high))[0]
        raise ValueError(f"L[{i}, {j}] is {A[i, j]}; votes must be {expected}")
    if binary:                                   # -1 -> outcome 1, 0 -> 0, +1 -> outcome 2
        return np.array([1, 0, 2], dtype=np.int16)[A.astype(np.int8) + 1], classes
    return A.astype(np.int16, copy=False), classes


def _fingerprint(L: Any):
    """A content hash of a NumPy label matrix (None for anything else): equal only for equal data."""
    import hashlib

    if not isinstance(L, np.ndarray) or L.dtype == object:
        return None
    data = np.ascontiguousarray(L)
    return L.shape, L.dtype.str, hashlib.blake2b(data.view(np.uint8).ravel(), digest_size=16).hexdigest()


def _patterns(idx: np.ndarray, K: int):
    """Distinct rows of ``idx``: (patterns (U, m), counts (U,), inverse (n,)).

    Each row is read as a number in base K + 1 (exact in float64 up to 2**53, so BLAS does the
    encoding); wider rows are encoded in column blocks whose codes are combined pairwise.
    """
    n, m = idx.shape
    base = K + 1
    per_code = max(1, int(52 / np.log2(base)))
    codes = None
    for start in range(0, m, per_code):
        width = min(per_code, m - start)
        powers = float(base) ** np.arange(width)
        block = np.empty(n, dtype=np.int64)
        for r in range(0, n, 65_536):             # row chunks keep the float copy small
            block[r:r + 65_536] = idx[r:r + 65_536, start:start + width].astype(np.float64) @ powers
        if codes is None:
            codes = block
        else:                                     # both as ranks < n, so the pair code fits in int64
            seen, block = pd.factorize(codes)[0], pd.factorize(block)[0]
            codes = seen * (int(block.max()) + 1) + block
    # Hashing (pandas) numbers the distinct codes in order of first appearance, in linear time.
    inverse = pd.factorize(codes)[0]
    first_seen = np.empty(n, dtype=bool)
    first_seen[0] = True
    first_seen[1:] = inverse[1:] > np.maximum.accumulate(inverse)[:-1]
    counts = np.bincount(inverse).astype(float)
    return idx[np.flatnonzero(first_seen)], counts, inverse


def _onehot(patterns: np.ndarray, K: int) -> sp.csr_matrix:
    """Sparse (U, m*K) matrix with a 1 at column j*K + v - 1 where pattern u votes outcome v >= 1 at
    LF j. Abstentions are left out: they are whatever mass the votes leave (see :func:`_m_step`)."""
    U, m = patterns.shape
    rows, lfs = np.nonzero(patterns)
    cols = lfs * K + patterns[rows, lfs].astype(np.int64) - 1
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(U, m * K))


def _m_step(onehot, counts, post, m, K, alpha, prior, constrain, previous):
    mass = post * counts[:, None]                            # (U, K): expected points per class
    votes = (onehot.T @ mass).reshape(m, K, K)               # [j, v-1, c]: expected votes v given c
    table = np.empty((m, K + 1, K))
    table[:, 1:, :] = votes
    table[:, 0, :] = mass.sum(axis=0)[None, :] - votes.sum(axis=1)      # abstentions
    table = np.maximum(table, 0) + alpha
    theta = table / table.sum(axis=1, keepdims=True)
    if constrain:
        for _ in range(5):      # with K > 2, pooling one outcome can unsettle another: repeat
            theta = _better_than_chance(table, theta)
            if _feasible(theta).all():
                break
        if previous is not None:
            # A generalised EM step: per LF, keep the previous table unless the new one is feasible
            # and at least as good for EM's expected log-likelihood, so the objective cannot fall.
            gain = (table * (np.log(theta) - np.log(previous))).sum(axis=(1, 2))
            keep = (gain < 0) | ~_feasible(theta)
            theta[keep] = previous[keep]
    if prior is None:
        total = mass.sum(axis=0) + alpha
        pi = total / total.sum()
    else:
        pi = prior
    return theta, pi


def _feasible(theta: np.ndarray) -> np.ndarray:
    """Per LF: is every vote at least as likely under its own class as under any other?"""
    K = theta.shape[2]
    diag = theta[:, np.arange(1, K + 1), np.arange(K)]
    return (diag >= theta[:, 1:, :].max(axis=2) - 1e-12).all(axis=1)


def _better_than_chance(table: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The M-step under the constraint theta[j, v, v-1] >= theta[j, v, c] for every class c.

    For one LF j and outcome v the expected complete log-likelihood is a sum of binomial terms,
    one per class c: (table[j, v, c] votes out of total[j, c]). Its maximiser under "the class v-1
    is at least as high as every other" pools class v-1 with the highest violators, one at a time,
    while a violator lies above the pooled rate (isotonic regression for a star order); the pooled
    classes share the rate, and each class's other outcomes are rescaled to fill the rest.
    """
    m, V, K = table.shape
    total = table.sum(axis=1)                                   # (m, K)
    theta = theta.copy()
    diag = theta[:, np.arange(1, V), np.arange(K)]              # (m, K): P(vote c | y = c)
    worst = theta[:, 1:, :].max(axis=2)                         # (m, K): max over classes
    for j, v0 in zip(*np.nonzero(diag < worst)):
        v, rate = v0 + 1, theta[j, v0 + 1, :]
        pool = [v0]
        for c in np.argsort(-rate):
            pooled = table[j, v, pool].sum() / total[j, pool].sum()
            if c != v0 and rate[c] > pooled:
                pool.append(c)
        pooled = table[j, v, pool].sum() / total[j, pool].sum()
        for c in pool:
            theta[j, :, c] *= (1 - pooled) / (1 - theta[j, v, c])
            theta[j, v, c] = pooled
    return theta


def _log_joint(onehot, theta, pi):
    """log P(y = c, pattern u): every LF abstains, then each vote swaps its abstention factor."""
    m, _, K = theta.shape
    log_theta = np.log(theta)
    base = np.log(pi) + log_theta[:, 0, :].sum(axis=0)                   # (K,)
    swap = (log_theta[:, 1:, :] - log_theta[:, :1, :]).reshape(m * K, K)
    return base[None, :] + onehot @ swap


def _normalise(log_joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior rows and their log normalisers (a log-sum-exp over the K classes)."""
    top = log_joint[:, 0].copy()
    for c in range(1, log_joint.shape[1]):        # column by column: fast for a handful of classes
        np.maximum(top, log_joint[:, c], out=top)
    weights = np.exp(log_joint - top[:, None])
    total = weights @ np.ones(weights.shape[1])
    return weights / total[:, None], top + np.log(total)


def _votes_per_class(onehot: sp.csr_matrix, K: int) -> np.ndarray:
    """(U, K) count of each pattern's votes for each class."""
    return onehot @ np.tile(np.eye(K), (onehot.shape[1] // K, 1))


def _align_classes(theta, pi, post, votes, counts):
    """Resolve EM's label switching: relabel the fitted classes so that, on the whole, a vote for
    class c falls on points the model puts in class c (LFs better than chance on the class they
    vote for). A linear assignment between fitted classes and voted classes."""
    K = votes.shape[1]
    agreement = (post * counts[:, None]).T @ votes            # (fitted class, voted class)
    rows, cols = linear_sum_assignment(-agreement)
    order = np.empty(K, dtype=int)
    order[cols] = rows                                          # voted class c <- fitted class order[c]
    return theta[:, :, order], pi[order]


def _check_prior(prior: Any, K: int) -> np.ndarray:
    if isinstance(prior, (str, bytes)):
        raise TypeError(f"class_prior must be {K} numbers; got a string {prior!r}")
    p = np.asarray(prior, dtype=float).ravel()
    if p.size != K or not np.isfinite(p).all() or (p <= 0).any() or not np.isclose(p.sum(), 1):
        raise ValueError(f"class_prior must be {K} positive numbers summing to 1; got {prior!r}")
    return p


def sample_from_tables(conditional: Any, class_prior: Any, n: int, random_state: int = 0,
                       classes: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points from a class-conditional model: y from the prior, then each LF's vote.

    Parameters
    ----------
    conditional : array-like of shape (m, K + 1, K)
        ``conditional[j, v, c] = P(lambda_j = outcome v | y = class c)``, outcome 0 = abstain;
        each ``[j, :, c]`` must sum to 1.
    class_prior : array-like of shape (K,)
    n : int
    random_state : int
    classes : array-like of shape (K,), optional
        Labels of the classes; default ``[-1, 1]`` for K = 2, else ``1..K``.

    Returns
    -------
    L : ndarray of shape (n, m), int8
    y : ndarray of shape (n,)

    Examples
    --------
    >>> theta = np.zeros((3, 3, 2))
    >>> theta[:, 0, :] = [[.5, .9]] * 3; theta[:, 1, :] = [[.5, .1]] * 3   # vote -1 or abstain
    >>> L, y = sample_from_tables(theta, [0.5, 0.5], n=4, random_state=1)
    >>> L.shape, set(np.unique(L)) <= {-1, 0}
    ((4, 3), True)
    """
    T = np.asarray(conditional, dtype=float)
    if T.ndim != 3 or T.shape[1] != T.shape[2] + 1 or T.shape[2] < 2:
        raise ValueError(f"conditional must have shape (m, K + 1, K) with K >= 2; got {T.shape}")
    K = T.shape[2]
    if (T < 0).any() or not np.allclose(T.sum(axis=1), 1):
        raise ValueError("conditional[j, :, c] must be probabilities summing to 1 for every LF j and class c")
    pi = _check_prior(class_prior, K)
    if classes is None:
        classes = np.array([-1, 1]) if K == 2 else np.arange(1, K + 1)
    classes = np.asarray(classes)
    rng = np.random.default_rng(random_state)
    y_idx = rng.choice(K, size=n, p=pi)
    cdf = np.cumsum(T[:, :, y_idx], axis=1)                     # (m, K+1, n)
    u = rng.random((T.shape[0], 1, n))
    outcome = np.minimum((u > cdf).sum(axis=1), K)              # (m, n): 0 abstain, v = class v-1
    labels = np.concatenate([[0], classes])
    return labels[outcome.T].astype(np.int8), classes[y_idx]


def from_snorkel(L_snorkel: Any, binary: bool = False) -> np.ndarray:
    """Snorkel's label matrix (-1 abstain, classes 0..K-1) in this book's convention.

    ``binary=True`` maps Snorkel's 0/1 to -1/+1; otherwise class c becomes c + 1.

    Examples
    --------
    >>> from_snorkel([[-1, 0, 1]], binary=True).tolist()
    [[0, -1, 1]]
    >>> from_snorkel([[-1, 0, 2]]).tolist()
    [[0, 1, 3]]
    """
    S = np.asarray(L_snorkel, dtype=np.int64)
    if (S < -1).any() or (binary and (S > 1).any()):
        raise ValueError("L_snorkel must hold -1 (abstain) or classes 0..K-1 (0/1 when binary=True)")
    if binary:
        return np.where(S == -1, 0, 2 * S - 1)
    return S + 1


def to_snorkel(L: Any) -> np.ndarray:
    """This book's label matrix in Snorkel's convention (-1 abstain, classes 0..K-1).

    Binary -1/+1 votes become 0/1; classes 1..K become 0..K-1.

    Examples
    --------
    >>> to_snorkel([[0, -1, 1]]).tolist()
    [[-1, 0, 1]]
    >>> to_snorkel([[0, 1, 3]]).tolist()
    [[-1, 0, 2]]
    """
    A = np.asarray(L, dtype=np.int64)
    if (A < 0).any():
        if ((A != 0) & (np.abs(A) != 1)).any():
            raise ValueError("binary L must hold -1, 0 (abstain) or +1")
        return np.where(A == 0, -1, (A + 1) // 2)
    return A - 1
