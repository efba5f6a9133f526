"""The label model: LF accuracies from agreements alone, and the posterior P(y=+1 | votes).

Under conditional independence, ``E[Z_ij] = q_i q_j`` with ``q = 2 p - 1``: the off-diagonal
of ``Z`` is rank one. Fitting ``q`` is a rank-one completion with the diagonal (always 1) and
never-overlapping pairs masked out. ``q`` and ``-q`` fit equally well; we pick the sign that
makes the LFs better than chance on average (``q.sum() >= 0``), the assumption every
data-programming method makes in one form or another.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logit
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from ._validation import (
    check_accuracies,
    check_binary_labels,
    check_int,
    check_label_matrix,
    check_lfs_vote,
    check_n_classes,
    check_overlap_matrix,
    check_positive_int,
    check_probability,
    check_real,
    is_sparse,
)
from .overlaps import OverlapStats, overlap_stats, row_chunks

METHODS = ("tensorflow", "closed_form")
# LFs beyond which the closed form's matrix products run in float32
_FLOAT32_BEYOND = 256


def majority_vote(L: Any, n_classes: int | None = None) -> np.ndarray:
    """The sign of each row's vote sum: +1, -1, or 0 for a tie or no votes; with ``n_classes=K``,
    the class 1..K with the most votes, or 0 for a tie or no votes.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)
        Votes -1, 0, +1; with ``n_classes``, 0 or a class 1..K (as for
        :class:`ClassConditionalLabelModel` with the same ``n_classes``).
    n_classes : int, optional
        The number of classes K, for votes 1..K.

    Returns
    -------
    ndarray of shape (n,), int8

    Examples
    --------
    >>> majority_vote([[1, 1, -1], [0, 0, 0], [1, -1, 0]]).tolist()
    [1, 0, 0]
    >>> majority_vote([[3, 3, 1], [2, 1, 0], [0, 0, 0]], n_classes=3).tolist()
    [3, 0, 0]
    """
    if n_classes is not None:
        from .class_conditional import _to_outcomes  # votes 1..K (or -1/+1), as the model reads them

        check_n_classes(n_classes)
        outcomes, classes = _to_outcomes(L, n_classes)
        n = outcomes.shape[0]
        rows, cols = np.nonzero(outcomes)
        counts = np.bincount(rows * classes.size + outcomes[rows, cols] - 1,
                             minlength=n * classes.size).reshape(n, classes.size)
        top = counts.max(axis=1)
        unique = (counts == top[:, None]).sum(axis=1) == 1
        return np.where(unique & (top > 0), classes[counts.argmax(axis=1)], 0).astype(np.int8)
    L = check_label_matrix(L, n_classes_hint=True)
    totals = np.asarray(L.sum(axis=1, dtype=np.int64)).ravel()
    return np.sign(totals).astype(np.int8)


def log_odds(accuracies: Any) -> np.ndarray:
    """Weights ``w = log(p / (1 - p))``: how many nats of evidence one vote of each LF carries.

    Raises
    ------
    ValueError
        If an accuracy is not strictly between 0 and 1.

    Examples
    --------
    >>> log_odds([0.5, 0.75]).round(3).tolist()
    [0.0, 1.099]
    """
    return logit(check_accuracies(accuracies))


def posterior(L: Any, accuracies: Any, class_prior: float = 0.5) -> np.ndarray:
    """``P(y = +1 | votes) = sigmoid(w^T lambda + log(pi / (1 - pi)))`` for every row of ``L``.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)
    accuracies : array-like of shape (m,)
        LF accuracies ``p``, each strictly between 0 and 1.
    class_prior : float
        ``pi = P(y = +1)``; 0.5 reproduces the original tutorial.

    Returns
    -------
    ndarray of shape (n,), float64
        A point with no votes gets the prior.

    Examples
    --------
    >>> posterior([[1, 1, 0], [0, 0, 0], [1, -1, 0]], [0.8, 0.8, 0.6]).round(3).tolist()
    [0.941, 0.5, 0.5]
    """
    L = check_label_matrix(L)
    w = log_odds(check_accuracies(accuracies, m=L.shape[1]))
    prior = check_probability(class_prior, "class_prior")
    # Row chunks keep the float copy of L that the product needs small.
    score = np.concatenate([np.asarray(rows @ w).ravel() for rows in row_chunks(L)])
    return expit(score + logit(prior))


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct labels, a 0 (tie or abstain) counting as half right.

    Half credit is the expected accuracy of breaking the tie with a fair coin; it is how
    the original tutorial scored majority vote (0.693) and the label model (0.727).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels, -1 or +1.
    y_pred : array-like of shape (n,)
        Predicted labels, -1, +1, or 0 for a tie.

    Raises
    ------
    ValueError
        If the labels are not -1/+1 (e.g. 0/1), the predictions are not -1/0/+1 (e.g.
        probabilities), or the predictions look like 0/1 labels: only 0 and 1, with at least
        10 zeros of which more than 3 in 4 fall on negative points (ties carry no information
        about the class, so their truth is mixed). Scoring 0/1 labels would count every
        predicted 0 as a tie and return a wrong number.

    Examples
    --------
    >>> accuracy([1, -1, 1, 1], [1, 1, 0, 1])
    0.625
    """
    y_pred_array = np.asarray(y_pred)
    y_true = check_binary_labels(y_true, name="y_true")
    if y_pred_array.ndim != 1 or y_pred_array.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"y_true and y_pred must be 1-D of the same length; got {y_true.shape} and {y_pred_array.shape}"
            + (" (class probabilities? use model.predict(L))" if y_pred_array.ndim == 2 else "")
        )
    if y_pred_array.dtype == object or not (np.issubdtype(y_pred_array.dtype, np.number) or y_pred_array.dtype == bool):
        raise TypeError(f"y_pred must hold -1, 0 (tie) or +1; got dtype {y_pred_array.dtype}")
    if y_pred_array.dtype == bool or np.iscomplexobj(y_pred_array):
        raise TypeError(f"y_pred must hold the numbers -1, 0 (tie) or +1; got dtype {y_pred_array.dtype}")
    bad = np.flatnonzero(~np.isin(y_pred_array, (-1, 0, 1)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"y_pred[{i}] is {y_pred_array[i]}; predictions must be -1, 0 (tie) or +1 "
            "(probabilities P(y=+1)? use np.sign(p - 0.5))"
        )
    zeros = y_pred_array == 0
    if zeros.sum() >= 10 and not (y_pred_array == -1).any() and (y_pred_array == 1).any():
        # Ties carry no information about the class; zeros that are mostly the negative class
        # are 0/1 labels, which scoring as ties would turn into a wrong number.
        if (y_true[zeros] == -1).mean() > 0.75:
            raise ValueError(
                "y_pred holds only 0 and 1, and its 0s fall mostly on points whose y_true is -1: 0/1 labels? "
                "convert them with 2 * y_pred - 1 (accuracy counts a 0 as a tie, half right)"
            )
    return float(np.mean(0.5 * (y_pred_array * y_true + 1)))


def resolve_sign(q: Any, anchor: int | None = None) -> np.ndarray:
    """Return ``q`` or ``-q``, whichever says the LFs are better than chance on average.

    ``q`` and ``-q`` explain the overlaps equally well. By default we keep the one with
    ``q.sum() > 0`` (when the sum is zero to rounding, the one whose largest entry is positive).
    With ``anchor=j`` we keep the one in which LF j, an LF you trust, is better than chance:
    the fix when most LFs may be worse than chance.

    Examples
    --------
    >>> resolve_sign([-0.4, -0.2, 0.1]).tolist()
    [0.4, 0.2, -0.1]
    >>> resolve_sign([0.4, 0.2, -0.1], anchor=2).tolist()
    [-0.4, -0.2, 0.1]
    """
    q = np.asarray(q, dtype=np.float64)
    if anchor is not None:
        anchor = _check_anchor(anchor, q.size)
        if q[anchor] == 0:
            raise ValueError(f"the anchor LF {anchor} has signed accuracy 0 (a coin flip); anchor on another LF")
        return -q if q[anchor] < 0 else q
    total = q.sum()
    if abs(total) <= 1e-9 * np.abs(q).sum():
        total = q[np.argmax(np.abs(q))]
    return -q if total < 0 else q


def _masked_target(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Z`` with unusable entries zeroed, and the mask of entries that count."""
    mask = ~np.isnan(Z)
    np.fill_diagonal(mask, False)
    return np.where(mask, Z, 0.0), mask


def lf_components(Z: np.ndarray) -> list[np.ndarray]:
    """Groups of LFs linked by overlaps: LF i and LF j are in one group when a chain of
    overlapping pairs joins them. Groups that never overlap each other say nothing about each
    other's signs, so each is fitted (and its sign chosen) on its own.

    Examples
    --------
    >>> Z = np.full((4, 4), np.nan); Z[:2, :2] = 0.5; Z[2:, 2:] = 0.5
    >>> [c.tolist() for c in lf_components(Z)]
    [[0, 1], [2, 3]]
    """
    from scipy.sparse.csgraph import connected_components

    _, mask = _masked_target(Z)
    m = mask.shape[0]
    if np.count_nonzero(mask.any(axis=1)) == m and _all_pairs_through_one(mask):
        return [np.arange(m)]  # the usual case, without building a graph
    count, labels = connected_components(sp.csr_matrix(mask), directed=False)
    return [np.flatnonzero(labels == c) for c in range(count)]


def _all_pairs_through_one(mask: np.ndarray) -> bool:
    """True when one LF overlaps every other one (so all are connected)."""
    return bool((mask.sum(axis=1) == mask.shape[0] - 1).any())


def check_identifiable(Z: np.ndarray) -> None:
    """Raise unless every LF sits in a triangle of overlapping LFs.

    The pair (i, j) only tells us the product ``q_i q_j``; a third LF k overlapping both
    pins down ``q_i^2 = Z_ij Z_ik / Z_jk``. An LF in no such triangle has no estimate.
    Groups of LFs that never overlap each other (see :func:`lf_components`) are allowed: each
    is identified on its own when each of its LFs is in a triangle.
    """
    _, mask = _masked_target(Z)
    m = mask.shape[0]
    if m < 3:
        raise ValueError(f"the label model needs at least 3 LFs; got {m}")
    if mask.sum() == m * (m - 1):
        return  # every pair overlaps: every LF is in a triangle
    O = mask.astype(np.float32)  # counts of paths stay exact in float32 below 2**24
    partners = O.sum(axis=1)
    in_triangle = ((O @ O) * O).sum(axis=1) > 0  # diag(O^3), with float BLAS
    for j in np.flatnonzero(~in_triangle):
        if partners[j] == 0:
            raise ValueError(
                f"LF {j} never votes on the same point as any other LF; its accuracy cannot be "
                "estimated from agreements (raise its coverage or drop it)"
            )
        group = next(c for c in lf_components(Z) if j in c)
        raise ValueError(
            f"LF {j} overlaps only LFs {np.flatnonzero(O[j]).tolist()}, which never overlap each other; "
            "a pair only fixes the product of two accuracies, a third overlapping LF is needed"
            + (f" (LFs {group.tolist()} never overlap the other LFs, so they must be identified on their own)"
               if group.size < m else "")
        )


def _top_eigenpair(A: np.ndarray, start: np.ndarray) -> tuple[float, np.ndarray]:
    """Largest eigenvalue and its eigenvector of a symmetric matrix. Lanczos (ARPACK) from a
    fixed start vector beyond a few dozen LFs: for a nearly rank-one matrix it needs a handful of
    matrix-vector products instead of a full decomposition."""
    import scipy.linalg
    import scipy.sparse.linalg

    m = A.shape[0]
    if m > 64:
        start = np.where(np.abs(start) > 0, np.abs(start), 1.0)
        # matrix-vector products are memory-bound: one BLAS thread is as fast, and a thread pool
        # on a busy machine makes each of them tens of times slower
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            values, vectors = scipy.sparse.linalg.eigsh(A, k=1, which="LA", v0=start, ncv=min(m, 12))
    else:
        values, vectors = scipy.linalg.eigh(A, subset_by_index=[m - 1, m - 1])
    return float(values[0]), vectors[:, 0]


def fit_signed_accuracies_closed_form(Z: np.ndarray, anchor: int | None = None) -> np.ndarray:
    """Estimate ``q`` from ``Z`` without an optimizer.

    Every triangle of LFs (i, j, k) gives ``Z_ij Z_ik = q_i^2 Z_jk``. Regressing the left side
    on ``Z_jk`` over all observed pairs (j, k) gives the least-squares estimate
    ``q_i^2 = sum Z_ij Z_ik Z_jk / sum Z_jk^2``, in matrix form a ratio of two diagonals.
    Triangles with a large ``|Z_jk|`` (accurate LFs) carry most of the weight, so nearly
    random LFs do not blow the estimate up as a plain ratio would. With that diagonal (and
    any never-overlapping pair) imputed, ``Z`` is a complete matrix whose leading
    eigenpair ``(mu, v)`` gives ``q = sqrt(mu) v``: two eigenvectors, no iterations.

    Groups of LFs that never overlap each other (:func:`lf_components`) are fitted one by one,
    and each group's sign is chosen on its own (``q.sum() >= 0`` within the group, or by
    ``anchor`` in the anchor's group).

    Parameters
    ----------
    Z : ndarray of shape (m, m)
        Overlap matrix; NaN marks pairs that never overlap.
    anchor : int, optional
        An LF known to be better than chance (see :func:`resolve_sign`).

    Returns
    -------
    q : ndarray of shape (m,)
        Signed accuracies, sign resolved with :func:`resolve_sign`.

    Examples
    --------
    >>> q = np.array([0.8, 0.4, 0.2, 0.6])
    >>> Z = np.outer(q, q); np.fill_diagonal(Z, 1)
    >>> fit_signed_accuracies_closed_form(Z).round(6).tolist()
    [0.8, 0.4, 0.2, 0.6]
    """
    Z = check_overlap_matrix(Z)
    q = np.zeros(Z.shape[0])
    for group in lf_components(Z):
        if group.size == 1:
            continue  # an LF overlapping nothing: check_identifiable reports it
        q[group] = _closed_form_one_group(Z[np.ix_(group, group)])
    return resolve_signs(q, Z, anchor)


def _closed_form_one_group(Z: np.ndarray) -> np.ndarray:
    M, mask = _masked_target(Z)
    m = M.shape[0]
    # diag(M M M) and diag(O (M*M) O) as row sums of elementwise products: float matrix
    # products (BLAS), not a three-operand einsum. Beyond a few hundred LFs, float32 halves the
    # cost; its rounding (1e-7 relative) is far below the sampling noise of Z.
    work = M.astype(np.float32) if m > _FLOAT32_BEYOND else M
    numerator = ((work @ work) * work).sum(axis=1, dtype=np.float64)
    squares = M * M
    if mask.sum() == m * (m - 1):  # every pair observed: O = 1 - I, so diag(O A O) = sum(A) - 2 rowsum(A)
        row_sums = squares.sum(axis=1)
        denominator = row_sums.sum() - 2 * row_sums
    else:
        O = mask.astype(work.dtype)
        denominator = ((O @ squares.astype(work.dtype)) * O).sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        q_squared = np.where(denominator > 0, numerator / denominator, 0.0)
    magnitude = np.sqrt(np.clip(q_squared, 0.0, 1.0))
    # Signs from the leading eigenvector; then impute the diagonal and any never-overlapping
    # pair from the triplet estimate and take the best rank-one fit of the completed matrix.
    _, vector = _top_eigenpair(M + np.diag(magnitude**2), magnitude)
    q_triplet = np.where(vector < 0, -magnitude, magnitude)
    completed = np.where(mask, M, np.outer(q_triplet, q_triplet))
    value, vector = _top_eigenpair(completed, q_triplet)
    return vector * np.sqrt(max(value, 0.0))


def resolve_signs(q: Any, Z: np.ndarray, anchor: int | None = None) -> np.ndarray:
    """:func:`resolve_sign` group by group: each group of LFs that never overlaps the others
    (:func:`lf_components`) gets its own sign, ``anchor`` deciding in its own group."""
    q = np.asarray(q, dtype=np.float64).copy()
    if anchor is not None:
        _check_anchor(anchor, q.size)
    for group in lf_components(Z):
        local = int(np.flatnonzero(group == anchor)[0]) if anchor is not None and anchor in group else None
        q[group] = resolve_sign(q[group], anchor=local)
    return q


def _check_anchor(anchor: Any, m: int) -> int:
    if isinstance(anchor, (bool, np.bool_)) or not isinstance(anchor, (int, np.integer)):
        raise TypeError(f"anchor_lf must be an int, the column of an LF you trust; got {anchor!r}")
    if not 0 <= anchor < m:
        raise ValueError(f"anchor is LF {anchor}, but there are only {m} LFs (0 .. {m - 1})")
    return int(anchor)


@dataclass
class TFFit:
    """Result of :func:`fit_signed_accuracies_tf`: ``q``, the loss before every step taken, and
    whether the convergence test passed (always False when ``tol=0``: no test was made)."""

    q: np.ndarray
    loss_history: np.ndarray = field(repr=False)
    converged: bool = False
    learning_rate: float | None = 5e-4


def fit_signed_accuracies_tf(
    Z: np.ndarray,
    steps: int = 5000,
    learning_rate: float | None = 5e-4,
    random_state: int = 0,
    init_mean: float = 0.5,
    init_std: float = 0.15,
    *,
    init: Any = None,
    tol: float = 0.0,
) -> TFFit:
    """Minimize ``sum(mask * (Z - q q^T)^2)`` by gradient descent in TensorFlow.

    The defaults are the original tutorial's: exactly 5000 plain gradient steps of size 5e-4 from
    ``q ~ Normal(0.5, 0.15)``, with no convergence test. :class:`LabelModel` instead starts from
    the closed form, scales each LF's step by the curvature and stops once converged. The whole
    loop runs inside one ``tf.function``, traced once per process whatever the number of LFs.

    Parameters
    ----------
    Z : ndarray of shape (m, m)
        Overlap matrix; NaN marks pairs that never overlap (masked, like the diagonal).
    steps : int
        Gradient steps; with ``tol > 0``, the most that are taken.
    learning_rate : float or None
        Step size of plain gradient descent. None scales each LF's step by the loss's curvature
        in that LF (``4 sum_k mask_jk q_k^2``) and takes half of it: half a Newton step per LF,
        which converges in tens of steps where plain descent needs thousands.
    random_state : int
        Seeds the random starting point, so the fit is repeatable.
    init_mean, init_std : float
        The random starting point's distribution.
    init : array-like of shape (m,), optional
        Start from this ``q`` instead (e.g. :func:`fit_signed_accuracies_closed_form`).
    tol : float
        Stop when no ``q_j`` would move by more than ``tol`` in a Newton step on its own
        (``|gradient_j| / curvature_j < tol``). 0 runs all ``steps``. With ``tol > 0``, a fit
        that has not converged after ``steps`` steps warns with :class:`ConvergenceWarning`.

    Returns
    -------
    TFFit
        ``q`` with its sign resolved group by group (:func:`resolve_signs`), the loss before
        every step taken, and whether it converged.

    Raises
    ------
    ValueError
        If a hyperparameter is out of range, or the descent diverges.
    """
    import tensorflow as tf

    steps = check_positive_int(steps, "steps")
    tol = check_real(tol, "tol", low=0.0)
    random_state = check_int(random_state, "random_state")
    Z = check_overlap_matrix(Z)
    target, mask = _masked_target(Z)
    if init is None:
        init_mean = check_real(init_mean, "init_mean")
        init_std = check_real(init_std, "init_std", low=0.0)
        q0 = np.random.default_rng(random_state).normal(init_mean, init_std, size=(Z.shape[0], 1))
    else:
        q0 = np.asarray(init, dtype=np.float64).reshape(-1, 1)
        if q0.shape[0] != Z.shape[0] or not np.isfinite(q0).all():
            raise ValueError(f"init must hold {Z.shape[0]} finite signed accuracies; got shape {np.shape(init)}")
    precondition = learning_rate is None
    if precondition:
        learning_rate = 0.5
    learning_rate = check_real(learning_rate, "learning_rate", low=0.0, strict=True)
    q, history, converged = _gradient_descent()(
        tf.constant(q0, tf.float32),
        tf.constant(target, tf.float32),
        tf.constant(mask, tf.float32),
        tf.constant(learning_rate, tf.float32),
        tf.constant(steps, tf.int32),
        tf.constant(tol, tf.float32),
        tf.constant(precondition),
    )
    q_hat = q.numpy().ravel().astype(np.float64)
    if not np.all(np.isfinite(q_hat)):
        raise ValueError(
            f"gradient descent diverged (learning_rate={learning_rate:g} is too large for this Z); "
            "lower it, or use method='closed_form'"
        )
    converged = bool(converged.numpy())
    if tol > 0 and not converged:
        warnings.warn(
            f"gradient descent stopped after steps={steps} without converging (tol={tol:g}); "
            "raise steps, or use method='closed_form'",
            ConvergenceWarning,
            stacklevel=2,
        )
    return TFFit(resolve_signs(q_hat, Z), history.numpy(), converged, None if precondition else learning_rate)


@functools.cache
def _gradient_descent():
    """The compiled descent loop, built once per process. Its input signature leaves the number
    of LFs open, so fits of different m reuse one trace (a fresh ``tf.function`` per fit, or one
    traced per shape, makes TensorFlow retrace, and warn about it after a few fits)."""
    import tensorflow as tf

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 1], tf.float32),  # q at the start
            tf.TensorSpec([None, None], tf.float32),  # Z, masked entries 0
            tf.TensorSpec([None, None], tf.float32),  # mask
            tf.TensorSpec([], tf.float32),  # learning rate
            tf.TensorSpec([], tf.int32),  # most steps
            tf.TensorSpec([], tf.float32),  # tol (0: no test)
            tf.TensorSpec([], tf.bool),  # scale each LF's step by its curvature
        ]
    )
    def descend(q, z, w, learning_rate, n_steps, tol, precondition):
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        step = tf.constant(0)
        done = tf.constant(False)
        while step < n_steps and not done:
            with tf.GradientTape() as tape:
                tape.watch(q)
                residual = w * (z - q * tf.transpose(q))
                loss = tf.reduce_sum(residual * residual)
            gradient = tape.gradient(loss, q)
            losses = losses.write(step, loss)
            if tol > 0 or precondition:
                # curvature of the loss in q_j alone: gradient / curvature is how far q_j would
                # move in a Newton step on its own (the least-squares fit of q_j, the others fixed)
                curvature = 4.0 * tf.matmul(w, q * q) + 1e-12
                if tol > 0:
                    done = tf.reduce_max(tf.abs(gradient) / curvature) < tol
                if precondition:
                    gradient = gradient / curvature
            q = q - learning_rate * gradient
            step += 1
        return q, losses.stack(), done

    return descend


class ConvergenceWarning(_SklearnConvergenceWarning):
    """An iterative fit stopped before its convergence test passed (a ``UserWarning``, and
    scikit-learn's ``ConvergenceWarning``, so filters for either catch it)."""


class OneClassLFWarning(UserWarning):
    """An LF votes only one class, which the one-coin label model does not describe."""


class NotFittedError(_SklearnNotFittedError):
    """A model was used before ``fit``; a ``ValueError`` (and ``AttributeError``), as in scikit-learn."""


TIE_BREAKS = ("random", "prior", "abstain")
INITS = ("closed_form", "random")


class LabelModel(BaseEstimator):
    """Conditionally independent (one-coin) label model, scikit-learn style.

    Parameters
    ----------
    method : {"tensorflow", "closed_form"}
        How to fit the signed accuracies ``q`` from the overlap matrix.
    class_prior : float
        ``P(y = +1)`` used by the posterior, strictly between 0 and 1.
    clip : (float, float)
        Fitted accuracies are clipped into ``[low, high]`` with ``0 < low < high < 1``, so that
        every log-odds weight is finite; ``clipped_`` records which ones were.
    steps : int
        Gradient steps (method "tensorflow"): the most taken when ``tol > 0``, exactly this many
        when ``tol == 0``.
    learning_rate : float or None
        Step size of plain gradient descent (method "tensorflow"); None (default) takes half a
        Newton step per LF (see :func:`fit_signed_accuracies_tf`).
    tol : float
        Convergence test of the gradient descent (see :func:`fit_signed_accuracies_tf`); a fit
        that stops before it passes warns with :class:`ConvergenceWarning`. 0 disables it.
    init : {"closed_form", "random"}
        Start of the gradient descent: the closed form (default), or the original tutorial's
        ``q ~ Normal(0.5, 0.15)`` drawn with ``random_state``.
        ``LabelModel(init="random", learning_rate=5e-4, tol=0)`` is the original tutorial's fit.
    random_state : int
        Seeds the random start (``init="random"``) and the tie-breaking coin of :meth:`predict`.
    anchor_lf : int, optional
        An LF known to be better than chance; fixes the sign of ``q`` in its group of LFs
        (see :func:`resolve_sign`).

    Notes
    -----
    The sign of ``q`` is chosen group by group: LFs that never overlap (even through a chain of
    other LFs) the rest form a separate group (:func:`lf_components`), fitted on its own; each
    group gets ``q.sum() >= 0`` within it, except the anchor's group, where ``q[anchor_lf] > 0``.
    A group that is not identifiable (fewer than 3 LFs, or an LF in no triangle of overlapping
    LFs) is an error naming its LFs. ``fit`` warns with :class:`OneClassLFWarning` when an LF
    only ever votes one class: the one-coin model then fits nonsense accuracies; use
    ``dp.ClassConditionalLabelModel``. Every hyperparameter is checked at ``fit``.

    Attributes
    ----------
    accuracies_ : ndarray of shape (m,)
        Estimated ``p``, each in (0, 1).
    signed_accuracies_ : ndarray of shape (m,)
        Estimated ``q = 2 p - 1`` before clipping.
    weights_ : ndarray of shape (m,)
        Log-odds ``w = log(p / (1 - p))``.
    overlap_ : ndarray of shape (m, m)
        The ``Z`` the model was fit to.
    loss_history_ : ndarray or None
        Loss before each gradient step taken (method "tensorflow").
    converged_ : bool or None
        Whether the gradient descent passed its convergence test (None for "closed_form").
    clipped_ : ndarray of shape (m,), bool
    classes_ : ndarray ``[-1, 1]``
    n_lfs_ : int

    Examples
    --------
    >>> from dp_helpers.synthetic import make_synthetic
    >>> data = make_synthetic(n=100_000, m=10, random_state=0)
    >>> model = LabelModel(method="closed_form").fit(data.L)
    >>> bool(np.abs(model.accuracies_ - data.lf_accuracies).mean() < 0.02)
    True
    """

    def __init__(
        self,
        method: str = "tensorflow",
        class_prior: float = 0.5,
        clip: tuple[float, float] = (0.01, 0.99),
        steps: int = 5000,
        learning_rate: float | None = None,
        tol: float = 1e-6,
        init: str = "closed_form",
        random_state: int = 0,
        anchor_lf: int | None = None,
    ):
        self.method = method
        self.class_prior = class_prior
        self.clip = clip
        self.steps = steps
        self.learning_rate = learning_rate
        self.tol = tol
        self.init = init
        self.random_state = random_state
        self.anchor_lf = anchor_lf

    def _check_params(self) -> tuple[float, float]:
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        check_probability(self.class_prior, "class_prior")
        clip = self.clip
        if isinstance(clip, (str, bytes)) or not hasattr(clip, "__len__") or len(clip) != 2:
            raise TypeError(f"clip must be a pair (low, high) with 0 < low < high < 1; got {clip!r}")
        low, high = (check_real(c, "clip") for c in clip)
        if not 0 < low < high < 1:
            raise ValueError(f"clip is {tuple(clip)}; it must be (low, high) with 0 < low < high < 1")
        check_positive_int(self.steps, "steps")
        if self.learning_rate is not None:
            check_real(self.learning_rate, "learning_rate", low=0.0, strict=True)
        check_real(self.tol, "tol", low=0.0)
        if not isinstance(self.init, str) or self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}; got {self.init!r}")
        check_int(self.random_state, "random_state")
        return low, high

    def fit(self, L: Any) -> "LabelModel":
        """Fit accuracies from a label matrix, or from precomputed :class:`OverlapStats`.

        Raises
        ------
        ValueError, TypeError
            For a hyperparameter out of range (named), an invalid ``L``, fewer than 3 LFs, an
            LF that never votes, or an LF whose accuracy is not identifiable because it
            overlaps too few others.

        Warns
        -----
        OneClassLFWarning
            When an LF votes only one class (only with ``L``, not with statistics).
        ConvergenceWarning
            When the gradient descent stops before converging.
        """
        low, high = self._check_params()
        if isinstance(L, OverlapStats):
            stats = L
        else:
            L = check_label_matrix(L, min_lfs=3)
            stats = overlap_stats(L)
        if self.anchor_lf is not None:
            _check_anchor(self.anchor_lf, stats.m)
        check_lfs_vote(np.diag(stats.counts))  # the diagonal counts each LF's votes
        if not isinstance(L, OverlapStats):
            _warn_one_class(L)
        Z = stats.overlap_matrix()
        check_identifiable(Z)  # also: at least 3 LFs, for statistics passed in directly
        self.loss_history_ = None
        self.converged_ = None
        q = fit_signed_accuracies_closed_form(Z, anchor=self.anchor_lf)
        if self.method == "tensorflow":
            start = dict(init=q) if self.init == "closed_form" else {}
            result = fit_signed_accuracies_tf(
                Z, self.steps, self.learning_rate, self.random_state, tol=self.tol, **start
            )
            q, self.loss_history_, self.converged_ = result.q, result.loss_history, result.converged
            q = resolve_signs(q, Z, self.anchor_lf)
        p = (q + 1) / 2
        self.overlap_ = Z
        self.signed_accuracies_ = q
        self.clipped_ = (p < low) | (p > high)
        self.accuracies_ = np.clip(p, low, high)
        self.weights_ = log_odds(self.accuracies_)
        self.n_lfs_ = stats.m
        self.classes_ = np.array([-1, 1])
        return self

    def predict_proba(self, L: Any) -> np.ndarray:
        """Class probabilities for each row of ``L``, shape (n, 2), columns in ``classes_`` order
        (``[-1, +1]``): column 1 is the soft label ``P(y = +1 | votes)``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit` (a ``ValueError``, as in scikit-learn).
        """
        self._check_fitted()
        L = check_label_matrix(L)
        if L.shape[1] != self.n_lfs_:
            raise ValueError(f"L has {L.shape[1]} LFs (columns) but the model was fit with {self.n_lfs_}")
        p_pos = posterior(L, self.accuracies_, self.class_prior)
        return np.column_stack([1.0 - p_pos, p_pos])

    def predict(self, L: Any, tie_break: str = "random") -> np.ndarray:
        """Hard labels: +1 where the posterior exceeds 0.5, -1 below.

        A row's label depends on that row alone, never on the other rows passed with it.

        Parameters
        ----------
        tie_break : {"random", "prior", "abstain"}
            A posterior of exactly 0.5 (no votes, or evidence that cancels) becomes:
            "random", a fair coin keyed by the row's votes and ``random_state`` (the same votes
            always get the same label, alone or in any batch); "prior", the class ``class_prior``
            favours (+1 when it is exactly 0.5); "abstain", 0.

        Examples
        --------
        >>> model = LabelModel(method="closed_form").fit([[1, 1, 1], [1, -1, 1], [-1, 1, 1], [1, 1, -1]])
        >>> empty = [[0, 0, 0]]
        >>> model.predict(empty).tolist() == model.predict([[1, 1, 1]] * 5 + empty)[-1:].tolist()
        True
        """
        if tie_break not in TIE_BREAKS:
            raise ValueError(f"tie_break must be one of {TIE_BREAKS}; got {tie_break!r}")
        self._check_fitted()
        L = check_label_matrix(L)
        proba = self.predict_proba(L)[:, 1]
        labels = np.sign(proba - 0.5).astype(np.int8)
        ties = np.flatnonzero(labels == 0)
        if tie_break == "abstain" or ties.size == 0:
            return labels
        if tie_break == "prior":
            labels[ties] = -1 if self.class_prior < 0.5 else 1
            return labels
        labels[ties] = _row_coins(L[ties], self.random_state)
        return labels

    def _check_fitted(self) -> None:
        if not hasattr(self, "accuracies_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(L) before predict or predict_proba"
            )


def _row_coins(rows: Any, random_state: int) -> np.ndarray:
    """A fair coin (-1 or +1) per row, a function of the row's votes and ``random_state`` only.

    Each (LF, vote) gets a random 64-bit code; a row's key is the wrapping sum of its codes,
    mixed by SplitMix64's finalizer; the coin is the key's top bit.
    """
    m = rows.shape[1]
    codes = np.random.default_rng([check_int(random_state, "random_state"), 2**32 + 1]).integers(
        0, 2**63, size=(2, m), dtype=np.uint64
    ) * np.uint64(2) + np.uint64(1)
    if is_sparse(rows):
        rows = rows.tocsr()
        owner = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        picked = codes[(rows.data < 0).astype(np.intp), rows.indices]
        key = np.zeros(rows.shape[0], dtype=np.uint64)
        np.add.at(key, owner, picked)
    else:
        rows = np.asarray(rows)
        key = np.where(rows > 0, codes[0], np.uint64(0)).sum(axis=1, dtype=np.uint64)
        key += np.where(rows < 0, codes[1], np.uint64(0)).sum(axis=1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = key + np.uint64(0x9E3779B97F4A7C15)
        key = (key ^ (key >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        key = (key ^ (key >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        key = key ^ (key >> np.uint64(31))
    return np.where(key >> np.uint64(63), 1, -1).astype(np.int8)


def _warn_one_class(L: Any) -> None:
    if is_sparse(L):
        m = L.shape[1]
        positive = np.bincount(L.indices[L.data > 0], minlength=m) > 0
        negative = np.bincount(L.indices[L.data < 0], minlength=m) > 0
    else:
        positive = (L > 0).any(axis=0)
        negative = (L < 0).any(axis=0)
    one_class = np.flatnonzero(positive != negative)
    if one_class.size:
        described = ", ".join(f"LF {j} ({'+1' if positive[j] else '-1'})" for j in one_class)
        warnings.warn(
            f"{described} vote{'s' if one_class.size == 1 else ''} only one class; the one-coin LabelModel assumes "
            "every LF votes both classes with one accuracy, and fits nonsense accuracies otherwise. "
            "Use dp.ClassConditionalLabelModel for one-class (keyword, pattern) LFs",
            OneClassLFWarning,
            stacklevel=3,
        )
